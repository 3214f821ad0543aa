"""`driftd dev services up|status|down`: a local Kafka and Redis for trying `driftd run`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from confluent_kafka.admin import AdminClient
from services.local import free_port

pytestmark = [pytest.mark.kafka, pytest.mark.redis, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def _driftd(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "driftd.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=check)  # fmt: skip


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_up_serves_kafka_and_redis_in_the_background_and_down_stops_them(tmp_path):
    where = str(tmp_path / "dev")
    kafka_port, redis_port = free_port(), free_port()
    up = _driftd("dev", "services", "up", "--dir", where, "--kafka-port", str(kafka_port),
                 "--redis-port", str(redis_port))  # fmt: skip
    state = json.loads((tmp_path / "dev" / "services.json").read_text())
    try:
        assert f'bootstrap_servers: "127.0.0.1:{kafka_port}"' in up.stdout
        # Still serving after the command returned.
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{kafka_port}"})
        assert admin.list_topics(timeout=30).brokers
        assert redis.Redis(port=redis_port).ping()
        status = _driftd("dev", "services", "status", "--dir", where)
        assert "kafka: up" in status.stdout and "redis: up" in status.stdout
        again = _driftd("dev", "services", "up", "--dir", where, check=False)
        assert again.returncode == 1 and "already up" in again.stderr
    finally:
        down = _driftd("dev", "services", "down", "--dir", where, check=False)
    assert down.returncode == 0, down.stderr
    assert not any(_alive(s["pid"]) for s in state.values())
    status = _driftd("dev", "services", "status", "--dir", where, check=False)
    assert status.returncode == 1 and status.stdout.strip() == "down"
