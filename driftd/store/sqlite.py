"""The embedded store: one SQLite file in the state directory.

State blobs are JSON (msgspec) in a key-value table, written in one transaction
per checkpoint; readings are a row per evaluation tick (the metric history the
dashboard and ``driftd metrics`` read).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import msgspec

from driftd.store import LABELED_LIMIT, LabeledRow, ReadingsRow, one_per_time

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS offsets (source TEXT PRIMARY KEY, next_offset INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS labeled (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, row BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS labeled_model ON labeled (model, seq);
CREATE TABLE IF NOT EXISTS readings (
    model TEXT NOT NULL, event_time REAL NOT NULL, seq INTEGER PRIMARY KEY AUTOINCREMENT,
    value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS readings_model ON readings (model, seq);
CREATE TABLE IF NOT EXISTS shards (
    model TEXT NOT NULL, shard INTEGER NOT NULL, token TEXT NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY (model, shard)
);
"""


class SqliteStore:
    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # One connection shared with the HTTP server's threads, serialised by a lock.
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._lock = threading.RLock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._encode = msgspec.json.Encoder().encode
        self._decode = msgspec.json.decode

    def commit(
        self,
        states: dict[str, Any],
        readings: list[ReadingsRow],
        offsets: dict[str, int] | None = None,
        labeled: list[LabeledRow] | None = None,
    ) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT INTO state (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                [(name, self._encode(value)) for name, value in states.items()],
            )
            self._db.executemany(
                "INSERT INTO readings (model, event_time, value) VALUES (?, ?, ?)",
                [(model, t, self._encode(values)) for model, t, values in readings],
            )
            if labeled:
                self._db.executemany(
                    "INSERT INTO labeled (model, row) VALUES (?, ?)",
                    [(model, self._encode(row)) for model, row in labeled],
                )
                for model in {model for model, _ in labeled}:
                    self._db.execute(
                        "DELETE FROM labeled WHERE model = ? AND seq <= ("
                        "SELECT seq FROM labeled WHERE model = ? ORDER BY seq DESC "
                        "LIMIT 1 OFFSET ?)",
                        (model, model, LABELED_LIMIT),
                    )
            if offsets:
                self._db.executemany(
                    "INSERT INTO offsets (source, next_offset) VALUES (?, ?) "
                    "ON CONFLICT(source) DO UPDATE SET next_offset = excluded.next_offset",
                    list(offsets.items()),
                )

    def labeled_rows(self, model: str, limit: int) -> list[dict[str, Any]]:
        rows = self._all(
            "SELECT row FROM labeled WHERE model = ? ORDER BY seq DESC LIMIT ?", (model, limit)
        )
        return [self._decode(row[0]) for row in reversed(rows)]

    def put_shard(self, model: str, shard: int, token: str, summary: Any) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO shards (model, shard, token, value) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(model, shard) DO UPDATE SET token = excluded.token, "
                "value = excluded.value",
                (model, shard, token, msgspec.msgpack.encode(summary)),
            )

    def shard_summaries(self, model: str) -> dict[int, Any]:
        rows = self._all("SELECT shard, value FROM shards WHERE model = ?", (model,))
        return {int(shard): msgspec.msgpack.decode(value) for shard, value in rows}

    def shard_tokens(self, model: str) -> dict[int, str]:
        rows = self._all("SELECT shard, token FROM shards WHERE model = ?", (model,))
        return {int(shard): token for shard, token in rows}

    def load_offsets(self) -> dict[str, int]:
        return dict(self._all("SELECT source, next_offset FROM offsets", ()))

    def load_state(self, name: str) -> Any | None:
        rows = self._all("SELECT value FROM state WHERE name = ?", (name,))
        return None if not rows else self._decode(rows[0][0])

    def latest_readings(self, model: str) -> tuple[float, dict[str, float | None]] | None:
        rows = self._all(
            "SELECT event_time, value FROM readings WHERE model = ? ORDER BY seq DESC LIMIT 1",
            (model,),
        )
        return None if not rows else (rows[0][0], self._decode(rows[0][1]))

    def history(
        self, model: str, metric: str, limit: int = 500
    ) -> list[tuple[float, float | None]]:
        rows = self._all(
            "SELECT event_time, value FROM readings WHERE model = ? ORDER BY seq DESC LIMIT ?",
            (model, 2 * limit + 16),  # room for the repeats one_per_time folds away
        )
        points = one_per_time([(t, self._decode(v).get(metric)) for t, v in reversed(rows)])
        return points[-limit:]

    def _all(self, sql: str, params: tuple) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()
