"""The names of a sharded model's parts (``shards: N``, docs/scaling.md).

A leaf module (no numpy, no detectors): the router, which must start fast and import
little, and the monitors agree through it on which shard an event belongs to and what
that shard's monitor is called.
"""

from __future__ import annotations

import zlib

SEPARATOR = "#"


def shard_of(event_id: str, shards: int) -> int:
    """Which of a sharded model's ``shards`` an event belongs to: by its event_id, so a
    prediction and its label meet in the same shard (CRC-32: in C, once per event in
    both the router and the monitor)."""
    return zlib.crc32(event_id.encode()) % shards


def shard_key(model_id: str, shard: int) -> str:
    """The name a shard's monitor and state go by: ``model#3``."""
    return f"{model_id}{SEPARATOR}{shard}"


def split_key(key: str, shards: dict[str, int]) -> tuple[str, int | None]:
    """(model id, shard) of a monitor's key (``shards``: model id -> shard count);
    shard None for an unsharded model."""
    if key in shards:
        return key, None
    model_id, _, shard = key.rpartition(SEPARATOR)
    if shards.get(model_id, 1) > 1 and shard.isdigit():
        return model_id, int(shard)
    return key, None
