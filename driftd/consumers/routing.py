"""Where a model's events belong: driftd's own partitioner and the repartition topics.

Producers partition as their client does: Java and kafka-python hash the key with
murmur2, librdkafka (confluent-kafka, Go, Node, kcat) with CRC32, some apps send no
key at all, and a mis-keyed event lands anywhere. driftd does not depend on any of
it. The router (consumers/router.py) reads the input topics, takes each event's
``model_id`` and writes it to an internal *repartition topic* at
``partition_for(model_id, n)``, as Kafka Streams' repartition topics and Faust's
``group_by`` do; the monitors read only those, so one model is one partition, one
pipeline, one monitor.

Each routed message carries its origin (input topic, partition, offset) in the
``driftd.origin`` header. The router is at-least-once (it commits its input offsets
after the broker acknowledged what it wrote), so after a crash it writes some events
again; a partition worker drops a message whose origin offset it has already seen for
that input partition (:class:`OriginMarks`). That is exact because one input
partition's events reach one repartition partition in their input order, from
whichever router owned it (librdkafka's idempotent producer keeps the order per
partition): a repeat is always at or below the mark.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from typing import Any

import msgspec

from driftd.sharding import shard_key, shard_of

ORIGIN_HEADER = "driftd.origin"


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (``org.apache.kafka.common.utils.Utils.murmur2``), unsigned 32-bit."""
    m = 0x5BD1E995
    length = len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    whole = length & ~3
    for i in range(0, whole, 4):
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    extra = length - whole
    if extra == 3:
        h ^= data[whole + 2] << 16
    if extra >= 2:
        h ^= data[whole + 1] << 8
    if extra >= 1:
        h ^= data[whole]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


@lru_cache(maxsize=65536)
def partition_for(model_id: str, partitions: int) -> int:
    """The partition a model's events belong on: the Java client's choice for the key
    ``model_id`` (so an app keying by model id with a murmur2 client already agrees)."""
    return (murmur2(model_id.encode()) & 0x7FFFFFFF) % partitions


class _Addressed(msgspec.Struct):
    model_id: str
    event_id: Any = None


_read_address = msgspec.json.Decoder(_Addressed).decode


def address_of(raw: bytes) -> _Addressed | None:
    """The event's ``model_id`` and ``event_id`` without decoding the rest; None when
    there is no model to read (the monitor stage then dead-letters it with the full
    reason)."""
    try:
        return _read_address(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def model_of(raw: bytes) -> str | None:
    """The event's ``model_id``; None when there is none to read."""
    address = address_of(raw)
    return None if address is None else address.model_id


def destination(
    raw: bytes, partitions: int, shards: dict[str, int] | None = None
) -> tuple[str | None, int]:
    """(routing key, partition) for a raw event: the model id, or ``model#k`` for shard
    k of a model in ``shards`` (model id -> shard count). Unreadable bytes go to a
    partition chosen by their content, so a replay sends them to the same place; an
    event of a sharded model without a text event_id goes with the model's id (it is
    a dead letter there)."""
    address = address_of(raw)
    if address is None:
        return None, zlib.crc32(raw) % partitions
    model_id = address.model_id
    n = shards.get(model_id, 1) if shards else 1
    if n > 1 and isinstance(address.event_id, str):
        shard = shard_of(address.event_id, n)
        return shard_key(model_id, shard), shard_partition(model_id, shard, n, partitions)
    return model_id, partition_for(model_id, partitions)


def shard_partition(model_id: str, shard: int, shards: int, partitions: int) -> int:
    """Where shard k of N goes: k/N of the way round the partitions from the model's
    own, so up to ``partitions`` shards have a partition each and, since the range
    assignor gives each member a run of consecutive partitions, shards land on
    different members whenever there are at least N."""
    return (partition_for(model_id, partitions) + shard * partitions // shards) % partitions


def repartition_topics(group_id: str, predictions: str, labels: str) -> dict[str, str]:
    """Input topic -> its internal repartition topic (named as Kafka Streams names them)."""
    return {
        predictions: f"{group_id}-predictions-repartition",
        labels: f"{group_id}-labels-repartition",
    }


def origin_header(topic: str, partition: int, offset: int) -> tuple[str, bytes]:
    return ORIGIN_HEADER, f"{topic}:{partition}:{offset}".encode()


def parse_origin(headers: list[tuple[str, bytes]]) -> tuple[str, int] | None:
    """("topic:partition", offset) from a routed message's headers; None when absent."""
    for name, value in headers:
        if name == ORIGIN_HEADER and value:
            source, _, offset = value.decode("ascii", "replace").rpartition(":")
            if source and offset.isdigit():
                return source, int(offset)
    return None


class OriginMarks:
    """The highest origin offset seen per input partition, for one repartition partition.

    Stored with the worker's offsets under "topic:partition" keys (a Kafka topic name
    cannot contain ':'), so they land in the same store transaction as the state they
    describe.
    """

    def __init__(self, stored: dict[str, int]):
        self.marks = {key: value for key, value in stored.items() if ":" in key}

    def is_new(self, source: str, offset: int) -> bool:
        """True (and remembered) the first time this input position is seen."""
        if offset <= self.marks.get(source, -1):
            return False
        self.marks[source] = offset
        return True


def topic_offsets(stored: dict[str, int]) -> dict[str, int]:
    """The topic offsets of a stored mapping, without the origin marks."""
    return {key: value for key, value in stored.items() if ":" not in key}
