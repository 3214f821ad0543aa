"""Retraining workers on many hosts, against a real Redis: requests, leases and fencing.

Worker processes (`driftd retrain-worker --once --service`) share requests and leases in
Redis and a registry directory; each test asserts what was observed: exactly one
promotion per request, and the champion always a version that loads.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from retrain.helpers import config_text, draw, write_reference
from testdata import wait_until

from driftd.config import load_config
from driftd.daemon.builders import redis_store
from driftd.daemon.paths import registry_dir
from driftd.retrain.redis_queue import RedisRequestQueue
from driftd.retrain.registry import FencedOut, Registry
from driftd.retrain.request_queue import RequestQueue

pytestmark = [pytest.mark.redis, pytest.mark.slow]

# A search long enough (seconds) that a worker is still running when the test acts on it.
SEARCH = "{method: random, candidates: 40, space: {C: {low: 0.01, high: 10, log: true}}}"


def _setup(tmp_path: Path, redis_url: str, lease: str = "2s"):
    namespace = f"t{uuid.uuid4().hex[:8]}"
    path = tmp_path / "driftd.yaml"
    path.write_text(config_text(write_reference(tmp_path / "reference.csv"), tmp_path / "state",
                                search=SEARCH)
                    + f"redis: {{url: '{redis_url}', namespace: {namespace}, "
                      f"retrain_lease: {lease}}}\n")  # fmt: skip
    config = load_config(path)
    store = redis_store(config)
    rows = [("credit", {"t": 1.8e9 + i, "x": {"x1": r.x1, "x2": r.x2, "color": r.color},
                        "a": {"sex": r.sex}, "v": "1", "y": int(r.label), "p": int(r.label)})
            for i, r in enumerate(draw(4000, shifted=True, seed=50).itertuples())]  # fmt: skip
    store.commit({}, [], None, rows)
    queue = RedisRequestQueue(redis.Redis.from_url(redis_url), namespace, 2.0)
    return path, config, queue


def _worker(path: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "driftd.cli", "retrain-worker", "--once",
                             "--service", "--config", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def _promotions(config) -> list[dict]:
    audit = registry_dir(config) / "credit" / "events.jsonl"
    if not audit.exists():
        return []
    return [e for e in map(json.loads, audit.read_text().splitlines())
            if e["type"] == "model_promoted"]  # fmt: skip


def _fence(config) -> int:
    path = registry_dir(config) / "credit" / "fence.json"
    return json.loads(path.read_text())["token"] if path.exists() else 0


def _champion_loads(config) -> int:
    registry = Registry(registry_dir(config))
    champion = registry.champion("credit")
    assert champion is not None
    registry.load("credit", champion)  # hash and types checked
    return champion


def test_leases_are_exclusive_and_their_tokens_grow(redis_service):
    client = redis.Redis.from_url(redis_service.address)
    namespace = f"t{uuid.uuid4().hex[:8]}"
    one, two = RedisRequestQueue(client, namespace, 5), RedisRequestQueue(client, namespace, 5)
    with one.lock("m") as first:
        assert first is not None
        with two.lock("m") as second:
            assert second is None  # held by the other worker
    with two.lock("m") as third:
        assert third is not None and third.token > first.token
    one.put("m", "a")
    one.put("m", "b")
    assert one.pending() == ["m"]
    assert [r["reason"] for r in two.take("m")] == ["a", "b"]
    assert two.pending() == ["m"]  # in flight until acked: a dead worker's run is not lost
    two.ack("m")
    assert two.pending() == [] and two.take("m") == []


def test_requests_filed_in_the_directory_are_moved_into_redis(redis_service, tmp_path):
    """`driftd retrain` without --service (or an older driftd) files a request in the
    registry directory: a service worker must not strand it."""
    inbox = RequestQueue(tmp_path)
    inbox.put("m", "asked by hand")
    queue = RedisRequestQueue(redis.Redis.from_url(redis_service.address),
                              f"t{uuid.uuid4().hex[:8]}", 5, inbox)  # fmt: skip
    assert queue.pending() == ["m"] and inbox.pending() == []
    assert [r["reason"] for r in queue.take("m")] == ["asked by hand"]


def test_two_workers_on_the_same_request_promote_once(tmp_path, redis_service):
    path, config, queue = _setup(tmp_path, redis_service.address, lease="30s")
    queue.put("credit", "drift")
    workers = [_worker(path), _worker(path)]
    outputs = [w.communicate(timeout=600) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    assert len(_promotions(config)) == 1
    assert len(Registry(registry_dir(config)).runs("credit")) == 1
    assert _champion_loads(config) == 1 and queue.pending() == []


def test_a_killed_worker_s_request_is_run_by_the_next_one(tmp_path, redis_service):
    path, config, queue = _setup(tmp_path, redis_service.address)
    queue.put("credit", "drift")
    first = _worker(path)
    wait_until(lambda: _fence(config) >= 1, 300, "the first worker to claim the model")
    first.kill()  # kill -9, mid-run
    first.wait(30)
    assert _promotions(config) == [] and queue.pending() == ["credit"]
    lease = f"{queue.prefix}:lock.run:credit"
    wait_until(lambda: not queue.client.exists(lease), 60, "the dead worker's lease to lapse")
    second = _worker(path)
    _, err = second.communicate(timeout=600)
    assert second.returncode == 0, err
    assert [e["version"] for e in _promotions(config)] == [1] and queue.pending() == []
    assert _champion_loads(config) == 1


def test_a_worker_paused_past_its_lease_cannot_promote(tmp_path, redis_service):
    path, config, queue = _setup(tmp_path, redis_service.address)
    queue.put("credit", "drift")
    paused = _worker(path)
    wait_until(lambda: _fence(config) >= 1, 300, "the first worker to claim the model")
    os.kill(paused.pid, signal.SIGSTOP)  # mid-run: the search takes seconds
    try:
        lease = f"{queue.prefix}:lock.run:credit"
        wait_until(lambda: not queue.client.exists(lease), 60, "the paused worker's lease to lapse")
        successor = _worker(path)
        _, err = successor.communicate(timeout=600)
        assert successor.returncode == 0, err
        assert _fence(config) == 2 and [e["version"] for e in _promotions(config)] == [1]
    finally:
        os.kill(paused.pid, signal.SIGCONT)
    out, err = paused.communicate(timeout=600)
    # It woke, finished its search, registered a version, and was refused the alias.
    assert "FencedOut" in out + err and "older than 2" in out + err, out + err
    assert [e["version"] for e in _promotions(config)] == [1]  # one promotion per request
    registry = Registry(registry_dir(config))
    assert registry.aliases("credit") == {"champion": 1} and _champion_loads(config) == 1
    statuses = sorted(run["status"] for run in registry.runs("credit"))
    assert statuses == ["failed", "promoted"]
    with pytest.raises(FencedOut):
        registry.claim("credit", 1)
