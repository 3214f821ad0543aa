"""Sources: where the daemon's messages come from, behind one interface.

A :class:`Source` is a consumer in the Kafka sense: it is subscribed to topics,
hands partition assignment to a listener that says where to start each partition
(driftd's offsets live in the store next to the state they produced, so the
listener, not Kafka's committed offsets, decides), and polls records in batches.

Implementations: the Kafka consumer group, over either client library
(:mod:`.kafka.confluent`, librdkafka, the default; :mod:`.kafka.kafkapython`, pure
Python), both passing one contract suite (``tests/runtime/test_client_contract.py``);
and the local sources of the embedded runtime (:mod:`.local`: the in-process broker
the demo's app publishes to, JSONL files for ``driftd replay``, or any iterable of
messages), the way arroyo's ``LocalBroker`` stands in for Kafka. The daemon's one
driver loop (daemon/driver.py) runs over any of them.

``Producer`` and ``Admin`` are the rest of the Kafka interface driftd needs (dead
letters, model announcements, topic creation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# The producer and reader are the SDK's: one implementation for apps and the daemon.
from driftd_sdk.kafka import BufferFull, Producer, Reader

__all__ = ["Admin", "BufferFull", "Producer", "Reader", "Record", "Source", "TopicPartition"]

TopicPartition = tuple[str, int]


@dataclass(slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    value: bytes
    key: bytes | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    # Where it came from, in words, when "topic:partition" is not it (a file's line).
    origin: str | None = None

    @property
    def source(self) -> str:
        """What a dead letter made of this record says it came from."""
        return self.origin if self.origin is not None else f"{self.topic}:{self.partition}"


class RebalanceListener(Protocol):
    def assigned(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int | None]:
        """Partitions now ours; returns where to start each (None: the configured default)."""

    def revoked(self, partitions: list[TopicPartition]) -> None:
        """Partitions about to go to another member: checkpoint them now."""


class Source(Protocol):
    def subscribe(self, topics: list[str], listener: RebalanceListener | None) -> None:
        """Join the group for ``topics``. Without a listener, each partition starts from
        the group's committed offset (the router's way); with one, where it says."""

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        """Up to max_records records; an empty list when none came within timeout."""

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit *next* offsets to Kafka, synchronously (so lag tools see progress)."""

    def pause(self, partitions: list[TopicPartition]) -> None: ...

    def resume(self, partitions: list[TopicPartition]) -> None: ...

    def assignment(self) -> list[TopicPartition]: ...

    def high_watermarks(self) -> dict[TopicPartition, int]:
        """Each assigned partition's end offset as of the last fetch (no broker call).

        Partitions not fetched from yet are left out. Call from the polling thread.
        """

    def finished(self) -> bool:
        """True when a finite source has nothing left (files read to the end); Kafka: never."""

    def close(self) -> None: ...


class Admin(Protocol):
    def create_topics(self, topics: dict[str, int], replication_factor: int) -> list[str]:
        """Create missing topics with the given partition counts; returns the names created."""

    def partition_count(self, topic: str) -> int | None: ...

    def group_lag(self, group: str, topics: list[str]) -> list[tuple[str, int, int, int]]:
        """(topic, partition, committed offset, end offset) of a consumer group."""

    def close(self) -> None: ...
