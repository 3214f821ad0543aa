"""The durable outbox: a notification is written before it is sent, marked when delivered.

Besides the queue of notifications it keeps the small records the alert
lifecycle needs to survive a restart: the notification log (what each receiver
was last told about each group, Alertmanager's nflog), Slack thread references
(to update the original message on resolve) and silences.

Two implementations with one contract: :class:`SqliteOutbox` (embedded, one file)
and :class:`RedisOutbox` (production; several daemons may share it: a due item is
*leased* atomically by one worker, and becomes due again if that worker dies).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, Literal, Protocol

import msgspec
import redis

from driftd.alerts.model import Notification

Status = Literal["pending", "delivered", "failed"]
LEASE_SECONDS = 60.0


class OutboxItem(msgspec.Struct, kw_only=True):
    notification: Notification
    status: Status = "pending"
    attempts: int = 0
    next_at: float = 0.0
    last_error: str = ""
    delivered_at: float | None = None


class Outbox(Protocol):
    def add(self, notification: Notification) -> bool:
        """Queue a notification (due now); False if its id is already there."""

    def due(self, now: float, limit: int = 50) -> list[OutboxItem]:
        """Items due for an attempt, leased to the caller."""

    def delivered(self, item: OutboxItem, now: float) -> None: ...

    def retry(self, item: OutboxItem, at: float, error: str) -> None: ...

    def failed(self, item: OutboxItem, error: str) -> None: ...

    def get(self, notification_id: str) -> OutboxItem | None: ...

    def items(self) -> list[OutboxItem]: ...

    def next_due(self) -> float | None: ...

    def record_get(self, kind: str, key: str) -> Any | None: ...

    def record_put(self, kind: str, key: str, value: Any) -> None: ...

    def record_delete(self, kind: str, key: str) -> None: ...

    def records(self, kind: str) -> dict[str, Any]: ...


_encode = msgspec.json.Encoder().encode
_decode_item = msgspec.json.Decoder(OutboxItem).decode


class SqliteOutbox:
    """Shared by the pipeline thread and the delivery thread (one connection, one lock)."""

    def __init__(self, path: str | Path):
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(
                """
                CREATE TABLE IF NOT EXISTS outbox (
                    id TEXT PRIMARY KEY, status TEXT NOT NULL, next_at REAL NOT NULL,
                    created_at REAL NOT NULL, item BLOB NOT NULL);
                CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_at);
                CREATE TABLE IF NOT EXISTS alert_records (
                    kind TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                    PRIMARY KEY (kind, key));
                """
            )

    def _save(self, item: OutboxItem) -> None:
        self._db.execute(
            "INSERT INTO outbox (id, status, next_at, created_at, item) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET status = excluded.status, next_at = excluded.next_at,"
            " item = excluded.item",
            (
                item.notification.id,
                item.status,
                item.next_at,
                item.notification.created_at,
                _encode(item),
            ),
        )

    def add(self, notification: Notification) -> bool:
        with self._lock, self._db:
            exists = self._db.execute(
                "SELECT 1 FROM outbox WHERE id = ?", (notification.id,)
            ).fetchone()
            if exists:
                return False
            self._save(OutboxItem(notification=notification, next_at=notification.created_at))
            return True

    def due(self, now: float, limit: int = 50) -> list[OutboxItem]:
        with self._lock:
            rows = self._db.execute(
                "SELECT item FROM outbox WHERE status = 'pending' AND next_at <= ? "
                "ORDER BY next_at LIMIT ?",
                (now, limit),
            ).fetchall()
        return [_decode_item(row[0]) for row in rows]

    def delivered(self, item: OutboxItem, now: float) -> None:
        item.status, item.delivered_at, item.attempts = "delivered", now, item.attempts + 1
        with self._lock, self._db:
            self._save(item)

    def retry(self, item: OutboxItem, at: float, error: str) -> None:
        item.attempts, item.next_at, item.last_error = item.attempts + 1, at, error
        with self._lock, self._db:
            self._save(item)

    def failed(self, item: OutboxItem, error: str) -> None:
        item.status, item.attempts, item.last_error = "failed", item.attempts + 1, error
        with self._lock, self._db:
            self._save(item)

    def get(self, notification_id: str) -> OutboxItem | None:
        with self._lock:
            row = self._db.execute(
                "SELECT item FROM outbox WHERE id = ?", (notification_id,)
            ).fetchone()
        return None if row is None else _decode_item(row[0])

    def items(self) -> list[OutboxItem]:
        with self._lock:
            rows = self._db.execute("SELECT item FROM outbox ORDER BY created_at").fetchall()
        return [_decode_item(row[0]) for row in rows]

    def next_due(self) -> float | None:
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(next_at) FROM outbox WHERE status = 'pending'"
            ).fetchone()
        return row[0]

    def record_get(self, kind: str, key: str) -> Any | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM alert_records WHERE kind = ? AND key = ?", (kind, key)
            ).fetchone()
        return None if row is None else msgspec.json.decode(row[0])

    def record_put(self, kind: str, key: str, value: Any) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO alert_records (kind, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT(kind, key) DO UPDATE SET value = excluded.value",
                (kind, key, _encode(value)),
            )

    def record_delete(self, kind: str, key: str) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM alert_records WHERE kind = ? AND key = ?", (kind, key))

    def records(self, kind: str) -> dict[str, Any]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, value FROM alert_records WHERE kind = ?", (kind,)
            ).fetchall()
        return {key: msgspec.json.decode(value) for key, value in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()


# Lease due items atomically: move their score to now + lease and return them.
_LEASE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids
"""


class RedisOutbox:
    def __init__(self, client: redis.Redis, namespace: str):
        self.client = client
        self.prefix = f"{namespace}:alerts"
        self._lease = client.register_script(_LEASE)

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def add(self, notification: Notification) -> bool:
        item = OutboxItem(notification=notification, next_at=notification.created_at)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hsetnx(self._key("items"), notification.id, _encode(item))
            pipe.zadd(self._key("due"), {notification.id: item.next_at}, nx=True)
            added, _ = pipe.execute()
        return bool(added)

    def due(self, now: float, limit: int = 50) -> list[OutboxItem]:
        ids = self._lease(keys=[self._key("due")], args=[now, now + LEASE_SECONDS, limit])
        if not ids:
            return []
        raw = self.client.hmget(self._key("items"), ids)
        return [_decode_item(value) for value in raw if value is not None]

    def _finish(self, item: OutboxItem) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self._key("items"), item.notification.id, _encode(item))
            if item.status == "pending":
                pipe.zadd(self._key("due"), {item.notification.id: item.next_at})
            else:
                pipe.zrem(self._key("due"), item.notification.id)
            pipe.execute()

    def delivered(self, item: OutboxItem, now: float) -> None:
        item.status, item.delivered_at, item.attempts = "delivered", now, item.attempts + 1
        self._finish(item)

    def retry(self, item: OutboxItem, at: float, error: str) -> None:
        item.attempts, item.next_at, item.last_error = item.attempts + 1, at, error
        self._finish(item)

    def failed(self, item: OutboxItem, error: str) -> None:
        item.status, item.attempts, item.last_error = "failed", item.attempts + 1, error
        self._finish(item)

    def get(self, notification_id: str) -> OutboxItem | None:
        value = self.client.hget(self._key("items"), notification_id)
        return None if value is None else _decode_item(value)

    def items(self) -> list[OutboxItem]:
        values = self.client.hvals(self._key("items"))
        return sorted(
            (_decode_item(v) for v in values), key=lambda item: item.notification.created_at
        )

    def next_due(self) -> float | None:
        first = self.client.zrange(self._key("due"), 0, 0, withscores=True)
        return first[0][1] if first else None

    def record_get(self, kind: str, key: str) -> Any | None:
        value = self.client.hget(self._key(kind), key)
        return None if value is None else msgspec.json.decode(value)

    def record_put(self, kind: str, key: str, value: Any) -> None:
        self.client.hset(self._key(kind), key, _encode(value))

    def record_delete(self, kind: str, key: str) -> None:
        self.client.hdel(self._key(kind), key)

    def records(self, kind: str) -> dict[str, Any]:
        raw = self.client.hgetall(self._key(kind))
        return {key.decode(): msgspec.json.decode(value) for key, value in raw.items()}

    def close(self) -> None:
        """The Redis client belongs to the runtime."""
