"""Shared fixtures: small configs and reference files written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_reference_csv(path: Path, n: int = 2000, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    color = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])
    score = 1 / (1 + np.exp(-(x * 1.5)))
    label = (rng.random(n) < score).astype(int)
    sex = rng.choice(["f", "m"], n)
    lines = ["x,color,score,prediction,label,sex"]
    lines += [
        f"{x[i]:.6f},{color[i]},{score[i]:.6f},{int(score[i] >= 0.5)},{label[i]},{sex[i]}"
        for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def reference_csv(tmp_path: Path) -> Path:
    return write_reference_csv(tmp_path / "reference.csv")


@pytest.fixture
def binary_config_file(tmp_path: Path, reference_csv: Path) -> Path:
    path = tmp_path / "driftd.yaml"
    path.write_text(
        f"""
models:
  m1:
    task: binary
    features: {{x: numeric, color: categorical}}
    reference: {reference_csv.name}
    sensitive_attributes: [sex]
    windows: {{size: 200, tumbling: 1h}}
    drift: {{window: 300, min_samples: 100}}
runtime:
  state_dir: state
  evaluate_every: 50
"""
    )
    return path


# -- real services (started once per session, only by tests that ask for them) ----------


@pytest.fixture(scope="session")
def kafka_service():
    from services.provide import provide_kafka

    service = provide_kafka()
    yield service
    service.close()


@pytest.fixture(scope="session")
def redis_service():
    from services.provide import provide_redis

    service = provide_redis()
    yield service
    service.close()


@pytest.fixture
def redis_client(redis_service):
    import redis

    client = redis.Redis.from_url(redis_service.address)
    yield client
    client.close()
