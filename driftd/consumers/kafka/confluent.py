"""The Kafka interface over confluent-kafka (librdkafka): the daemon's default client.

Settings that matter for driftd's guarantees, whatever ``kafka.options`` says:
auto-commit off (offsets are committed after the Redis checkpoint), the *range*
assignor (it gives partition p of both topics to the same member, so a model's
predictions and labels meet in one place), and the Java-compatible murmur2
partitioner for keyed messages (so kafka-python and confluent producers put a
model on the same partition number).
"""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, KafkaError, KafkaException
from confluent_kafka import Consumer as _Consumer
from confluent_kafka import TopicPartition as _TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from driftd_sdk.kafka.confluent import consume

from driftd.config.services import KafkaSpec
from driftd.consumers.kafka.settings import security_settings
from driftd.consumers.source import RebalanceListener, Record, TopicPartition

log = logging.getLogger("driftd.kafka")


_SECURITY_NAMES = {
    "protocol": "security.protocol",
    "mechanism": "sasl.mechanism",
    "username": "sasl.username",
    "password": "sasl.password",
    "cafile": "ssl.ca.location",
    "certfile": "ssl.certificate.location",
    "keyfile": "ssl.key.location",
}


def client_settings(spec: KafkaSpec, client_id: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": spec.bootstrap_servers,
        "client.id": client_id,
        **security_settings(spec, _SECURITY_NAMES),
    }


class ConfluentConsumer:
    def __init__(self, spec: KafkaSpec, client_id: str):
        settings = client_settings(spec, client_id)
        settings.update(
            {
                "group.id": spec.group_id,
                "auto.offset.reset": spec.start_from,
                "session.timeout.ms": int(spec.session_timeout * 1000),
                "heartbeat.interval.ms": max(int(spec.session_timeout * 1000 / 3), 100),
                "max.poll.interval.ms": 300_000,
                # One model's traffic is one partition: fetch big chunks of it per round trip.
                "max.partition.fetch.bytes": 8 << 20,
                **spec.options,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "partition.assignment.strategy": "range",
            }
        )
        self._start = OFFSET_BEGINNING if spec.start_from == "earliest" else OFFSET_END
        self._consumer = _Consumer(settings, logger=log)
        self._listener: RebalanceListener | None = None

    def subscribe(self, topics: list[str], listener: RebalanceListener | None) -> None:
        self._listener = listener
        if listener is None:  # committed offsets, then auto.offset.reset
            self._consumer.subscribe(topics)
            return
        self._consumer.subscribe(topics, on_assign=self._on_assign, on_revoke=self._on_revoke)

    def _on_assign(self, consumer: _Consumer, partitions: list[_TopicPartition]) -> None:
        assert self._listener is not None
        starts = self._listener.assigned([(p.topic, p.partition) for p in partitions])
        for p in partitions:
            offset = starts.get((p.topic, p.partition))
            p.offset = self._start if offset is None else offset
        consumer.assign(partitions)

    def _on_revoke(self, consumer: _Consumer, partitions: list[_TopicPartition]) -> None:
        assert self._listener is not None
        self._listener.revoked([(p.topic, p.partition) for p in partitions])
        consumer.unassign()

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        return _consume(self._consumer, max_records, timeout)

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if offsets:
            self._consumer.commit(
                offsets=[_TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                asynchronous=False,
            )

    def pause(self, partitions: list[TopicPartition]) -> None:
        self._consumer.pause([_TopicPartition(t, p) for t, p in partitions])

    def resume(self, partitions: list[TopicPartition]) -> None:
        self._consumer.resume([_TopicPartition(t, p) for t, p in partitions])

    def assignment(self) -> list[TopicPartition]:
        return [(p.topic, p.partition) for p in self._consumer.assignment()]

    def high_watermarks(self) -> dict[TopicPartition, int]:
        # cached=True: librdkafka updates the high mark from every fetch response.
        marks = {}
        for p in self._consumer.assignment():
            _, high = self._consumer.get_watermark_offsets(p, cached=True)
            if high >= 0:
                marks[(p.topic, p.partition)] = high
        return marks

    def finished(self) -> bool:
        return False

    def close(self) -> None:
        self._consumer.close()


def _consume(consumer: _Consumer, max_records: int, timeout: float) -> list[Record]:
    return [Record(m.topic(), m.partition(), m.offset(), m.value() or b"", m.key(),
                   m.headers() or []) for m in consume(consumer, max_records, timeout)]  # fmt: skip


class ConfluentAdmin:
    def __init__(self, spec: KafkaSpec):
        self._spec = spec
        self._admin = AdminClient(client_settings(spec, "driftd-admin"), logger=log)

    def create_topics(self, topics: dict[str, int], replication_factor: int) -> list[str]:
        futures = self._admin.create_topics(
            [NewTopic(name, n, replication_factor) for name, n in topics.items()]
        )
        created = []
        for name, future in futures.items():
            try:
                future.result()
                created.append(name)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
        return created

    def partition_count(self, topic: str) -> int | None:
        metadata = self._admin.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return None
        return len(metadata.partitions)

    def group_lag(self, group: str, topics: list[str]) -> list[tuple[str, int, int, int]]:
        # A consumer that never subscribes reads the group's committed offsets without
        # joining it.
        settings = client_settings(self._spec, "driftd-status")
        settings.update({"group.id": group, "enable.auto.commit": False})
        consumer = _Consumer(settings, logger=log)
        rows = []
        try:
            for topic in topics:
                metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
                if metadata is None or metadata.error is not None:
                    continue
                parts = [_TopicPartition(topic, p) for p in sorted(metadata.partitions)]
                for tp in consumer.committed(parts, timeout=10):
                    _, end = consumer.get_watermark_offsets(tp, timeout=10)
                    rows.append((topic, tp.partition, max(tp.offset, 0), end))
        finally:
            consumer.close()
        return rows

    def close(self) -> None:
        """AdminClient has no close; it goes with the object."""
