"""Producer and reader over kafka-python: pure Python, the SDK's default client.

kafka-python's default partitioner is the Java client's murmur2, so keyed messages land
where confluent's ``murmur2_random`` and the Java producer put them.
"""

from __future__ import annotations

import logging
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaTimeoutError
from kafka.structs import TopicPartition

from driftd_sdk.kafka import BufferFull, Message

log = logging.getLogger("driftd_sdk.kafka")


class KafkaPythonProducer:
    def __init__(self, settings: dict[str, Any], max_queued: int):
        # kafka-python 3 has no bounded buffer setting of its own: count what is queued.
        self.max_queued = max_queued
        self._queued = 0
        self._producer = KafkaProducer(
            **{
                "linger_ms": 20,
                # Fail fast when no broker answers; the publisher retries in its own thread.
                "bootstrap_timeout_ms": 2000,
                "acks": "all",
                "retries": 5,
                "max_block_ms": 10_000,
                **settings,
            }
        )
        self.failures = 0

    def _done(self, _: Any) -> None:
        self._queued -= 1

    def _failed(self, exc: BaseException) -> None:
        self._queued -= 1
        self.failures += 1
        log.error("kafka delivery failed: %s", exc)

    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> None:
        if self._queued >= self.max_queued:
            raise BufferFull(f"local queue full ({self._queued} messages)")
        try:
            future = self._producer.send(topic, value=value, key=key, headers=headers,
                                         partition=partition)  # fmt: skip
        except KafkaTimeoutError as exc:
            raise BufferFull(str(exc)) from None
        self._queued += 1
        future.add_callback(self._done)
        future.add_errback(self._failed)

    def flush(self, timeout: float) -> int:
        try:
            self._producer.flush(timeout=timeout)
        except KafkaTimeoutError:
            return 1
        return 0

    def close(self) -> None:
        self._producer.close(timeout=10)


class KafkaPythonReader:
    """Every partition of one topic from its end; no group (group_id None), no commits.
    The end is resolved before the constructor returns (see ``ConfluentReader``)."""

    def __init__(self, settings: dict[str, Any], topic: str):
        self._consumer = KafkaConsumer(**{**settings, "group_id": None,
                                          "enable_auto_commit": False})  # fmt: skip
        partitions = self._consumer.partitions_for_topic(topic)
        if not partitions:  # no topic yet: all it will ever hold comes after now
            first = TopicPartition(topic, 0)
            self._consumer.assign([first])
            self._consumer.seek(first, 0)
            return
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        self._consumer.assign(assigned)
        self._consumer.seek_to_end(*assigned)
        for tp in assigned:  # resolve the end now: what is published from here on is read
            self._consumer.position(tp)

    def poll(self, max_records: int, timeout: float) -> list[Message]:
        batches = self._consumer.poll(timeout_ms=int(timeout * 1000), max_records=max_records)
        return [Message(m.topic, m.partition, m.offset, m.value or b"", m.key)
                for messages in batches.values() for m in messages]  # fmt: skip

    def close(self) -> None:
        self._consumer.close(autocommit=False)
