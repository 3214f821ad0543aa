"""The production store: Redis, one namespace per partition, fenced by an owner epoch.

Layout (``N`` = namespace, e.g. ``driftd:<group>``, ``p`` = partition number)::

    N:p<p>:state     hash  name -> JSON state (monitor:<model>, rules, pipeline)
    N:p<p>:offsets   hash  topic -> next offset to consume
    N:p<p>:epoch     int   bumped by each owner when it takes the partition
    N:readings:<model>  list of JSON [event_time, readings], trimmed to ``history``
    N:shards:<model>    hash  shard -> tick summary of a sharded model's shard (MessagePack)
    N:shards:<model>:tokens  hash  shard -> the token of that summary

``commit`` is one MULTI/EXEC: state, readings and offsets land together or not
at all. A partition's owner takes it with ``claim()`` (INCR of the epoch) and
every commit WATCHes the epoch, so an instance that lost its partition in a
rebalance it did not notice (a long GC pause, a network cut) cannot overwrite
the new owner's state: its commit fails with :class:`Fenced`.
"""

from __future__ import annotations

from typing import Any

import msgspec
import redis

from driftd.store import LABELED_LIMIT, Fenced, LabeledRow, ReadingsRow, one_per_time

# Shard summaries are mostly long lists of floats: MessagePack writes them ~7x and
# reads them ~2x faster than JSON.
_pack = msgspec.msgpack.Encoder().encode
_unpack = msgspec.msgpack.decode


class RedisStore:
    def __init__(
        self,
        client: redis.Redis,
        namespace: str,
        partition: int | None = None,
        history: int = 10000,
    ):
        self.client = client
        self.namespace = namespace
        self.prefix = namespace if partition is None else f"{namespace}:p{partition}"
        self.history_limit = history
        self.epoch: int | None = None
        self._encode = msgspec.json.Encoder().encode
        self._decode = msgspec.json.decode

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def readings_key(self, model: str) -> str:
        return f"{self.namespace}:readings:{model}"

    def labeled_key(self, model: str) -> str:
        return f"{self.namespace}:labeled:{model}"

    def labeled_rows(self, model: str, limit: int) -> list[dict[str, Any]]:
        return [
            self._decode(row) for row in self.client.lrange(self.labeled_key(model), -limit, -1)
        ]

    def claim(self) -> int:
        """Become this partition's owner; earlier owners' commits will now fail."""
        self.epoch = int(self.client.incr(self._key("epoch")))
        return self.epoch

    def commit(
        self,
        states: dict[str, Any],
        readings: list[ReadingsRow],
        offsets: dict[str, int] | None = None,
        labeled: list[LabeledRow] | None = None,
    ) -> None:
        epoch_key = self._key("epoch")
        with self.client.pipeline(transaction=True) as pipe:
            if self.epoch is not None:
                try:
                    pipe.watch(epoch_key)
                    current = pipe.get(epoch_key)
                except redis.WatchError as exc:  # the connection failed while watching
                    raise redis.ConnectionError(str(exc)) from exc
                if current is None or int(current) != self.epoch:
                    raise Fenced(
                        f"{self.prefix} is now owned by epoch {current!r}, not {self.epoch}"
                    )
                pipe.multi()
            if states:
                pipe.hset(
                    self._key("state"),
                    mapping={name: self._encode(value) for name, value in states.items()},
                )
            touched = set()
            for model, event_time, values in readings:
                pipe.rpush(self.readings_key(model), self._encode([event_time, values]))
                touched.add(model)
            for model in touched:
                pipe.ltrim(self.readings_key(model), -self.history_limit, -1)
            for model in {model for model, _ in labeled or []}:
                rows = [self._encode(row) for m, row in labeled or [] if m == model]
                pipe.rpush(self.labeled_key(model), *rows)
                pipe.ltrim(self.labeled_key(model), -LABELED_LIMIT, -1)
            if offsets:
                pipe.hset(self._key("offsets"), mapping=offsets)
            try:
                pipe.execute()
            except redis.WatchError as exc:
                self._fenced_or_retryable(exc)

    def _fenced_or_retryable(self, exc: redis.WatchError) -> None:
        """A WatchError means the epoch changed (another owner: fenced), or, in
        redis-py's words, that a connection error "occurred while watching" (Redis
        restarting or loading: retry). The epoch as it is now tells them apart."""
        current = self.client.get(self._key("epoch"))  # (a ConnectionError: retried too)
        if current is not None and int(current) == self.epoch:
            raise redis.ConnectionError(f"{self.prefix}: {exc}") from exc
        raise Fenced(f"{self.prefix} changed owner during the commit") from None

    def load_state(self, name: str) -> Any | None:
        """A partition's state; a read view (no partition) finds the partition holding
        ``name`` (a model lives in one partition: routing fixes it by its id)."""
        keys = ([self._key("state")] if self.prefix != self.namespace else
                self.client.scan_iter(f"{self.namespace}:p*:state"))  # fmt: skip
        for key in keys:
            value = self.client.hget(key, name)
            if value is not None:
                return self._decode(value)
        return None

    def shards_key(self, model: str) -> str:
        return f"{self.namespace}:shards:{model}"

    def put_shard(self, model: str, shard: int, token: str, summary: Any) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self.shards_key(model), str(shard), _pack(summary))
            pipe.hset(self.shards_key(model) + ":tokens", str(shard), token)
            pipe.execute()

    def shard_summaries(self, model: str) -> dict[int, Any]:
        raw = self.client.hgetall(self.shards_key(model))
        return {int(shard): _unpack(value) for shard, value in raw.items()}

    def shard_tokens(self, model: str) -> dict[int, str]:
        raw = self.client.hgetall(self.shards_key(model) + ":tokens")
        return {int(shard): token.decode() for shard, token in raw.items()}

    def load_offsets(self) -> dict[str, int]:
        raw = self.client.hgetall(self._key("offsets"))
        return {key.decode(): int(value) for key, value in raw.items()}

    def latest_readings(self, model: str) -> tuple[float, dict[str, float | None]] | None:
        value = self.client.lindex(self.readings_key(model), -1)
        if value is None:
            return None
        event_time, readings = self._decode(value)
        return event_time, readings

    def history(
        self, model: str, metric: str, limit: int = 500
    ) -> list[tuple[float, float | None]]:
        # Room for the repeats one_per_time folds away.
        rows = self.client.lrange(self.readings_key(model), -(2 * limit + 16), -1)
        out = []
        for row in rows:
            event_time, readings = self._decode(row)
            out.append((event_time, readings.get(metric)))
        return one_per_time(out)[-limit:]

    def close(self) -> None:
        """The client is shared between partitions; its owner closes it."""
