"""Shared fixtures: small configs and reference files written to tmp_path.

Tests write only under temporary directories. What a person may want to look at
afterwards (screenshots, the chaos scenario's result) goes to ``artifacts``: a
temporary directory, or the directory ``DRIFTD_TEST_ARTIFACTS`` names.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from testdata import write_reference_csv

# Hypothesis keeps no example database, and its caches go to a temporary directory, not
# the working tree (read lazily, so setting it here, before any test, is in time).
settings.register_profile("driftd", database=None)
settings.load_profile("driftd")
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY",
                      tempfile.mkdtemp(prefix="driftd-hypothesis-"))  # fmt: skip


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory) -> Path:
    """Where screenshots and results for a person go (see the module docstring)."""
    chosen = os.environ.get("DRIFTD_TEST_ARTIFACTS")
    if not chosen:
        return tmp_path_factory.mktemp("artifacts")
    path = Path(chosen)
    path.mkdir(parents=True, exist_ok=True)
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


@pytest.fixture(scope="session")
def promtool():
    """Prometheus' promtool (built once from its Go module; tests/services/promtool.py)."""
    from services.gotools import promtool

    return promtool()


@pytest.fixture(scope="session")
def mlflow_service(tmp_path_factory):
    """A real ``mlflow server`` (SQLite, local artifacts; tests/services/mlflow.py)."""
    from services.mlflow import LocalMlflow

    service = LocalMlflow(tmp_path_factory.mktemp("mlflow"))
    yield service
    service.close()


@pytest.fixture
def redis_client(redis_service):
    import redis

    client = redis.Redis.from_url(redis_service.address)
    yield client
    client.close()
