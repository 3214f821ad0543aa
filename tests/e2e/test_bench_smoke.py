"""The benchmarks still run (seconds-long versions); their figures come from the full runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def services_env(kafka_service, redis_service) -> dict[str, str]:
    """The session's broker and Redis for the benchmarks that need them (they name their
    topics, groups and namespaces uniquely), rather than a broker started per section:
    three Kafka starts are a minute of a busy CI machine."""
    return {**os.environ, "KAFKA_BOOTSTRAP": kafka_service.address,
            "REDIS_URL": redis_service.address}  # fmt: skip


@pytest.mark.kafka
@pytest.mark.redis
def test_one_command_writes_every_section(tmp_path, kafka_service, redis_service):
    """`bench.report --smoke`: every section runs at seconds-long sizes and lands in the
    report with its command and a table (the peers' section, without its virtualenv,
    says it was not run)."""
    out = tmp_path / "BENCHMARKS.md"
    done = subprocess.run([sys.executable, "-m", "bench.report", "--smoke", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env=services_env(kafka_service, redis_service), check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = out.read_text()
    sys.path.insert(0, str(ROOT))
    from bench.report import SECTIONS

    for section in SECTIONS:
        block = report.split(f"<!-- section:{section.name} -->")[1]
        block = block.split(f"<!-- /section:{section.name} -->")[0]
        assert f"-m {section.module}" in block
        ran = "|---" in block
        assert ran or (section.python is not None and "Not run" in block), block[:500]


@pytest.mark.kafka
@pytest.mark.redis
def test_soak_runs_briefly(tmp_path, kafka_service, redis_service):
    """The on-demand soak (an hour) in 20 seconds: samples, a CSV and the chart."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--minutes", "0.34", "--every", "4", "--rate", "500",
         "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=services_env(kafka_service, redis_service), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = (tmp_path / "soak.csv").read_text().splitlines()
    assert rows[0] == "seconds,rss_mb,lag_messages,backlog_seconds" and len(rows) >= 5
    assert all(float(row.split(",")[1]) > 10 for row in rows[1:])  # a live daemon's RSS
    assert (tmp_path / "soak.png").stat().st_size > 5000
    assert "| RSS (MB) |" in done.stdout
