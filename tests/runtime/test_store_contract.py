"""One contract for both stores: SQLite (embedded) and Redis (production)."""

from __future__ import annotations

import uuid

import pytest
import redis

from driftd.store import Fenced
from driftd.store.redis_store import RedisStore
from driftd.store.sqlite import SqliteStore


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store(request, tmp_path):
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "state.sqlite")
    else:
        client = redis.Redis.from_url(request.getfixturevalue("redis_service").address)
        store = RedisStore(client, f"contract-{uuid.uuid4().hex[:8]}", partition=3, history=5)
    yield store
    store.close()


def test_commit_writes_state_readings_and_offsets_together(store):
    assert store.load_state("monitor:m") is None and store.load_offsets() == {}
    assert store.latest_readings("m") is None
    store.commit(
        {"monitor:m": {"n": 1, "xs": [1.5, None]}, "rules": {}},
        [("m", 10.0, {"accuracy": 0.9, "f1": None}), ("m", 11.0, {"accuracy": 0.8, "f1": 0.5})],
        {"predictions": 42, "labels": 7},
    )
    assert store.load_state("monitor:m") == {"n": 1, "xs": [1.5, None]}
    assert store.load_offsets() == {"predictions": 42, "labels": 7}
    assert store.latest_readings("m") == (11.0, {"accuracy": 0.8, "f1": 0.5})
    assert store.history("m", "accuracy") == [(10.0, 0.9), (11.0, 0.8)]
    store.commit({"monitor:m": {"n": 2}}, [], {"predictions": 50})
    assert store.load_state("monitor:m") == {"n": 2}
    assert store.load_state("rules") == {}
    assert store.load_offsets() == {"predictions": 50, "labels": 7}


def test_history_is_in_order_and_limited(store):
    store.commit({}, [("m", float(t), {"v": float(t)}) for t in range(8)], None)
    assert store.history("m", "v", limit=3) == [(5.0, 5.0), (6.0, 6.0), (7.0, 7.0)]
    assert store.history("m", "missing", limit=1) == [(7.0, None)]


def test_shard_summaries_replace_the_last_and_are_read_by_any_partition(store, tmp_path):
    """A sharded model's shards publish from different partitions (and processes); the
    one merging reads every shard's latest, and looks for new ones by token."""
    assert store.shard_summaries("m") == {} and store.shard_tokens("m") == {}
    store.put_shard("m", 0, "t0", {"readings": {"a": 1.0}, "states": {}})
    store.put_shard("m", 1, "t1", {"readings": {"a": 2.0}, "states": {"x": [1, None]}})
    store.put_shard("m", 1, "t2", {"readings": {"a": 3.0}, "states": {}})
    store.put_shard("other", 0, "t9", {"readings": {}, "states": {}})
    assert store.shard_tokens("m") == {0: "t0", 1: "t2"}
    assert store.shard_summaries("m") == {0: {"readings": {"a": 1.0}, "states": {}},
                                          1: {"readings": {"a": 3.0}, "states": {}}}  # fmt: skip
    if isinstance(store, RedisStore):  # another partition's view of the same namespace
        elsewhere = RedisStore(store.client, store.namespace, partition=0)
        assert elsewhere.shard_tokens("m") == {0: "t0", 1: "t2"}


@pytest.mark.redis
def test_a_fenced_owner_cannot_overwrite_the_new_owners_state(redis_service):
    client = redis.Redis.from_url(redis_service.address)
    namespace = f"fence-{uuid.uuid4().hex[:8]}"
    old = RedisStore(client, namespace, partition=0)
    old.claim()
    old.commit({"monitor:m": "old"}, [], {"predictions": 10})
    new = RedisStore(client, namespace, partition=0)
    new.claim()  # a rebalance the old owner did not notice
    new.commit({"monitor:m": "new"}, [], {"predictions": 20})
    with pytest.raises(Fenced):
        old.commit({"monitor:m": "stale"}, [("m", 1.0, {})], {"predictions": 11})
    assert new.load_state("monitor:m") == "new"
    assert new.load_offsets() == {"predictions": 20}
    assert new.latest_readings("m") is None
    client.close()


@pytest.mark.redis
def test_a_watch_broken_by_the_connection_is_retried_and_only_an_owner_change_fences(
    redis_service,
):
    """redis-py raises WatchError both when the watched epoch changed and when "a
    ConnectionError occurred while watching" (Redis restarting or loading its data): the
    first fences the partition, the second must be retried, not drop it."""
    client = redis.Redis.from_url(redis_service.address)
    store = RedisStore(client, f"watch-{uuid.uuid4().hex[:8]}", partition=0)
    store.claim()
    broken = redis.WatchError("A BusyLoadingError occurred while watching one or more keys")
    with pytest.raises(redis.ConnectionError):  # still ours: retry (RETRYABLE in runtimes)
        store._fenced_or_retryable(broken)
    RedisStore(client, store.prefix.rsplit(":", 1)[0], partition=0).claim()
    with pytest.raises(Fenced):  # another owner claimed it meanwhile
        store._fenced_or_retryable(redis.WatchError("Watched variable changed."))
    client.close()


def test_history_folds_repeats_of_one_event_time_and_keeps_its_limit(store):
    """A final evaluation at the same stream time writes a second row: one point each."""
    rows = [("m", float(t // 2), {"v": float(t)}) for t in range(12)]  # two rows per time
    store.commit({}, rows, None)
    assert store.history("m", "v", limit=3) == [(3.0, 7.0), (4.0, 9.0), (5.0, 11.0)]


@pytest.mark.redis
def test_a_read_view_finds_a_models_state_in_the_partition_holding_it(redis_service):
    """`driftd serve --service` shows a feature's distribution from the partition that
    keeps its model (the view itself belongs to no partition)."""
    client = redis.Redis.from_url(redis_service.address)
    namespace = f"view-{uuid.uuid4().hex[:8]}"
    RedisStore(client, namespace, partition=2).commit({"monitor:m": {"n": 7}}, [], None)
    view = RedisStore(client, namespace)
    assert view.load_state("monitor:m") == {"n": 7}
    assert view.load_state("monitor:other") is None
