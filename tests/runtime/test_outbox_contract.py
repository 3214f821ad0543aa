"""One contract for both outboxes: SQLite (embedded) and Redis (shared by daemons)."""

from __future__ import annotations

import uuid

import pytest
import redis
from alerts.conftest import make_alert

from driftd.alerts.model import Notification
from driftd.alerts.outbox import LEASE_SECONDS, RedisOutbox, SqliteOutbox
from driftd.alerts.silences import Silence, expire_silence, put_silence, silences


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def outbox(request, tmp_path):
    if request.param == "sqlite":
        box = SqliteOutbox(tmp_path / "outbox.sqlite")
    else:
        client = redis.Redis.from_url(request.getfixturevalue("redis_service").address)
        box = RedisOutbox(client, f"outbox-{uuid.uuid4().hex[:8]}")
    yield box
    box.close()


def note(id_: str, at: float = 100.0) -> Notification:
    return Notification(
        id=id_, receiver="hook", route="r", group_key="r|m", group_labels={"model": "m"},
        status="firing", alerts=[make_alert()], created_at=at,
    )  # fmt: skip


def test_add_is_idempotent_and_due_in_order(outbox):
    assert outbox.add(note("b", 101.0)) and outbox.add(note("a", 100.0))
    assert not outbox.add(note("a", 100.0))  # same id: not queued twice
    assert outbox.next_due() == 100.0
    assert [i.notification.id for i in outbox.due(now=100.5)] == ["a"]
    assert outbox.get("a").notification.alerts[0].metric == "accuracy"


def test_retry_delivered_failed_lifecycle(outbox):
    outbox.add(note("a"))
    (item,) = outbox.due(now=100.0)
    outbox.retry(item, at=150.0, error="HTTP 500")
    assert outbox.due(now=149.0) == []
    (item,) = outbox.due(now=150.0)
    assert item.attempts == 1 and item.last_error == "HTTP 500"
    outbox.delivered(item, now=151.0)
    assert outbox.due(now=1e12) == [] and outbox.next_due() is None
    assert outbox.get("a").status == "delivered" and outbox.get("a").attempts == 2
    outbox.add(note("b"))
    (item,) = outbox.due(now=100.0)
    outbox.failed(item, "HTTP 404")
    assert outbox.get("b").status == "failed" and outbox.due(now=1e12) == []


@pytest.mark.redis
def test_redis_leases_an_item_to_one_worker_until_it_finishes_or_dies(redis_service):
    client = redis.Redis.from_url(redis_service.address)
    namespace = f"lease-{uuid.uuid4().hex[:8]}"
    one, two = RedisOutbox(client, namespace), RedisOutbox(client, namespace)
    one.add(note("a"))
    assert [i.notification.id for i in one.due(now=100.0)] == ["a"]
    assert two.due(now=100.0) == []  # leased to the first worker
    # The first worker died without finishing: after the lease, the item is due again.
    assert [i.notification.id for i in two.due(now=100.0 + LEASE_SECONDS)] == ["a"]


def test_records_and_silences(outbox):
    outbox.record_put("nflog", "hook|r|m", {"firing": ["k1"], "sent_at": 5.0})
    assert outbox.record_get("nflog", "hook|r|m") == {"firing": ["k1"], "sent_at": 5.0}
    assert outbox.records("nflog") == {"hook|r|m": {"firing": ["k1"], "sent_at": 5.0}}
    outbox.record_delete("nflog", "hook|r|m")
    assert outbox.record_get("nflog", "hook|r|m") is None
    put_silence(outbox, Silence(id="s1", matchers={"model": "m"}, starts_at=0, ends_at=1e12))
    assert [s.id for s in silences(outbox)] == ["s1"]
    assert expire_silence(outbox, "s1", now=50.0) and not expire_silence(outbox, "nope")
    (silence,) = silences(outbox)
    assert silence.ends_at == 50.0 and not silence.active(60.0)
