"""Where driftd keeps state between runs: detector checkpoints, readings, offsets.

``Store`` is the interface; :class:`driftd.store.sqlite.SqliteStore` is the
embedded default (one file, no server) and :class:`driftd.store.redis_store.RedisStore`
the production one. Writes come in batches from the runtime, never per event:
``commit`` writes the changed states, the readings computed since the last
commit and (for Kafka) the consumed offsets in *one* transaction, which is what
makes detector state exactly-once: after a crash the state and the offsets it
corresponds to are either both there or both not.
"""

from __future__ import annotations

from typing import Any, Protocol

ReadingsRow = tuple[str, float, dict[str, float | None]]  # model, event time, readings
LabeledRow = tuple[str, dict[str, Any]]  # model, {"t", "x", "a", "v", "y"}
LABELED_LIMIT = 200_000  # joined rows kept per model (the worker reads fewer)


def one_per_time(points: list[tuple[float, Any]]) -> list[tuple[float, Any]]:
    """A metric's history with one point per event time, the last written: a final
    evaluation at the same stream time (the end of a replay, a restart) writes a second
    row that would repeat the last point.

    >>> one_per_time([(1.0, 0.5), (2.0, 0.6), (2.0, 0.7), (3.0, 0.8)])
    [(1.0, 0.5), (2.0, 0.7), (3.0, 0.8)]
    """
    out: list[tuple[float, Any]] = []
    for point in points:
        if out and out[-1][0] == point[0]:
            out[-1] = point
        else:
            out.append(point)
    return out


class Fenced(RuntimeError):
    """Another instance took this partition since we claimed it (the Redis store)."""


class Store(Protocol):
    def commit(
        self,
        states: dict[str, Any],
        readings: list[ReadingsRow],
        offsets: dict[str, int] | None = None,
        labeled: list[LabeledRow] | None = None,
    ) -> None:
        """Write named JSON-able states, readings rows, offsets and the joined training
        rows in one transaction."""

    def load_state(self, name: str) -> Any | None: ...

    def load_offsets(self) -> dict[str, int]: ...

    def labeled_rows(self, model: str, limit: int) -> list[dict[str, Any]]:
        """The newest joined (inputs, label) rows of a model, oldest first."""

    def latest_readings(self, model: str) -> tuple[float, dict[str, float | None]] | None: ...

    def history(
        self, model: str, metric: str, limit: int = 500
    ) -> list[tuple[float, float | None]]: ...

    def put_shard(self, model: str, shard: int, token: str, summary: Any) -> None:
        """Publish a shard's tick summary (detectors/shards.py) under a token unique to
        this publication, replacing its last; outside any transaction: the next tick
        overwrites it."""

    def shard_summaries(self, model: str) -> dict[int, Any]:
        """The latest summary of each shard of a model that published one."""

    def shard_tokens(self, model: str) -> dict[int, str]:
        """The token of each shard's latest summary: a cheap look for new ones."""

    def close(self) -> None: ...
