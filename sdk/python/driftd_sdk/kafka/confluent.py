"""Producer and reader over confluent-kafka (librdkafka): ``driftd-sdk[confluent]``.

The producer's partitioner is pinned to ``murmur2_random``, the Java client's, whatever
the settings say: a model's events land on the same partition number as kafka-python's.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException
from confluent_kafka import Consumer as _Consumer
from confluent_kafka import Producer as _Producer
from confluent_kafka import TopicPartition as _TopicPartition

from driftd_sdk.kafka import BufferFull, Message

log = logging.getLogger("driftd_sdk.kafka")


# Served callbacks every this many messages rather than after each: with delivery
# reports for failures only, a poll per message was a third of the producer's CPU
# (113-129k -> 162-168k messages per CPU-second, 200k to a local broker; the
# router's hot loop).
POLL_EVERY = 256


class ConfluentProducer:
    def __init__(self, settings: dict[str, Any], max_queued: int):
        merged = {
            "linger.ms": 20,
            "enable.idempotence": True,
            "compression.type": "lz4",
            "queue.buffering.max.messages": max_queued,
            # Only a failure is counted and logged: no Python callback per success.
            "delivery.report.only.error": True,
            **settings,
            "partitioner": "murmur2_random",
        }
        self._producer = _Producer(merged, logger=log)
        self.failures = 0
        self._unpolled = 0

    def _delivered(self, error: KafkaError | None, message: Any) -> None:
        if error is not None:
            self.failures += 1
            log.error("kafka delivery to %s failed: %s", message.topic(), error)

    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> None:
        try:
            self._producer.produce(topic, value, key, headers=headers,
                                   partition=-1 if partition is None else partition,
                                   on_delivery=self._delivered)  # fmt: skip
        except BufferError:
            self._producer.poll(0)
            raise BufferFull(f"local queue full ({len(self._producer)} messages)") from None
        self._unpolled += 1
        if self._unpolled >= POLL_EVERY:
            self._unpolled = 0
            self._producer.poll(0)

    def flush(self, timeout: float) -> int:
        return self._producer.flush(timeout)

    def close(self) -> None:
        self._producer.flush(10)


def consume(consumer: _Consumer, max_records: int, timeout: float) -> list[Any]:
    """One ``consume`` call's messages, errors logged and left out (end-of-partition
    notices silently)."""
    messages = []
    for message in consumer.consume(num_messages=max_records, timeout=timeout):
        error = message.error()
        if error is None:
            messages.append(message)
        elif error.code() != KafkaError._PARTITION_EOF:
            log.warning("kafka consumer: %s", error)
    return messages


class ConfluentReader:
    """Every partition of one topic from its end, by assignment: no group joins, nothing
    is committed (librdkafka wants a group.id set, but an assign()-only consumer never
    uses it), so no consumer group is left behind on the broker.

    The end is resolved to a number before the constructor returns. Assigning the
    logical ``OFFSET_END`` instead would be resolved later, when the fetcher starts:
    a message published in between (a promotion right after an app started) would
    be skipped."""

    RESOLVE_SECONDS = 60.0

    def __init__(self, settings: dict[str, Any], topic: str):
        merged = {**settings, "group.id": "driftd-unused", "enable.auto.commit": False,
                  "enable.auto.offset.store": False}  # fmt: skip
        self._consumer = _Consumer(merged, logger=log)
        try:
            self._consumer.assign(self._ends(topic))
        except BaseException:
            self._consumer.close()
            raise

    def _ends(self, topic: str) -> list[_TopicPartition]:
        deadline = time.monotonic() + self.RESOLVE_SECONDS
        while True:
            try:
                metadata = self._consumer.list_topics(topic, timeout=10).topics.get(topic)
                error = metadata.error if metadata is not None else None
                unknown = error is not None and error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
                if metadata is None or unknown or (error is None and not metadata.partitions):
                    # No topic yet: everything it will ever hold is published after now.
                    return [_TopicPartition(topic, 0, OFFSET_BEGINNING)]
                if error is not None:  # e.g. a leader not elected yet: ask again
                    raise KafkaException(error)
                return [
                    _TopicPartition(topic, p, self._consumer.get_watermark_offsets(
                        _TopicPartition(topic, p), timeout=10)[1])
                    for p in sorted(metadata.partitions)
                ]  # fmt: skip
            except KafkaException as exc:
                if time.monotonic() > deadline:
                    raise ConnectionError(f"cannot find the end of topic {topic}: {exc}") from exc
                log.info("finding the end of %s: %s; asking again", topic, exc)
                time.sleep(0.5)

    def poll(self, max_records: int, timeout: float) -> list[Message]:
        return [Message(m.topic(), m.partition(), m.offset(), m.value() or b"", m.key())
                for m in consume(self._consumer, max_records, timeout)]  # fmt: skip

    def close(self) -> None:
        self._consumer.close()
