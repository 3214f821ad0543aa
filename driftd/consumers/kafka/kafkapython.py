"""The Kafka interface over kafka-python: pure Python, selectable with ``kafka.client``.

About 40x slower than librdkafka at consuming here, so the daemon defaults to
confluent-kafka; apps that only publish may prefer this lighter install. The
same guarantees are pinned as in :mod:`~driftd.consumers.kafka.confluent`:
no auto-commit, the range assignor, and (kafka-python's default) the Java
murmur2 partitioner.
"""

from __future__ import annotations

import logging
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.errors import KafkaTimeoutError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata
from kafka.structs import TopicPartition as _TopicPartition

from driftd.config.services import KafkaSpec
from driftd.consumers.kafka.settings import security_settings
from driftd.consumers.source import BufferFull, RebalanceListener, Record, TopicPartition

log = logging.getLogger("driftd.kafka")


_SECURITY_NAMES = {
    "protocol": "security_protocol",
    "mechanism": "sasl_mechanism",
    "username": "sasl_plain_username",
    "password": "sasl_plain_password",
    "cafile": "ssl_cafile",
    "certfile": "ssl_certfile",
    "keyfile": "ssl_keyfile",
}


def client_settings(spec: KafkaSpec, client_id: str) -> dict[str, Any]:
    return {
        "bootstrap_servers": spec.bootstrap_servers.split(","),
        "client_id": client_id,
        **security_settings(spec, _SECURITY_NAMES),
    }


class _Listener(ConsumerRebalanceListener):
    def __init__(self, owner: KafkaPythonConsumer, listener: RebalanceListener):
        self.owner = owner
        self.listener = listener

    def on_partitions_revoked(self, revoked: Any) -> None:
        if revoked:
            self.listener.revoked([(tp.topic, tp.partition) for tp in revoked])

    def on_partitions_assigned(self, assigned: Any) -> None:
        if not assigned:  # kafka-python also reports an empty assignment before metadata
            return
        consumer = self.owner._consumer
        starts = self.listener.assigned([(tp.topic, tp.partition) for tp in assigned])
        for tp in assigned:
            offset = starts.get((tp.topic, tp.partition))
            if offset is not None:
                consumer.seek(tp, offset)
            elif self.owner.start_from == "earliest":
                consumer.seek_to_beginning(tp)
            else:
                consumer.seek_to_end(tp)


class KafkaPythonConsumer:
    def __init__(self, spec: KafkaSpec, client_id: str):
        settings = client_settings(spec, client_id)
        session_ms = int(spec.session_timeout * 1000)
        settings.update(
            {
                "group_id": spec.group_id,
                "auto_offset_reset": spec.start_from,
                "session_timeout_ms": session_ms,
                "heartbeat_interval_ms": max(session_ms // 3, 100),
                "max_partition_fetch_bytes": 8 << 20,
                **spec.options,
                "enable_auto_commit": False,
                "partition_assignment_strategy": [RangePartitionAssignor],
            }
        )
        self.start_from = spec.start_from
        self._consumer = KafkaConsumer(**settings)

    def subscribe(self, topics: list[str], listener: RebalanceListener | None) -> None:
        if listener is None:  # committed offsets, then auto_offset_reset
            self._consumer.subscribe(topics)
            return
        self._consumer.subscribe(topics, listener=_Listener(self, listener))

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        return _records(self._consumer.poll(timeout_ms=int(timeout * 1000),
                                            max_records=max_records))  # fmt: skip

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if offsets:
            self._consumer.commit(
                {
                    _TopicPartition(t, p): OffsetAndMetadata(o, "", -1)
                    for (t, p), o in offsets.items()
                }
            )

    def pause(self, partitions: list[TopicPartition]) -> None:
        self._consumer.pause(*[_TopicPartition(t, p) for t, p in partitions])

    def resume(self, partitions: list[TopicPartition]) -> None:
        self._consumer.resume(*[_TopicPartition(t, p) for t, p in partitions])

    def assignment(self) -> list[TopicPartition]:
        return [(tp.topic, tp.partition) for tp in self._consumer.assignment()]

    def high_watermarks(self) -> dict[TopicPartition, int]:
        marks = {}
        for tp in self._consumer.assignment():
            high = self._consumer.highwater(tp)  # from the last fetch response
            if high is not None:
                marks[(tp.topic, tp.partition)] = high
        return marks

    def finished(self) -> bool:
        return False

    def close(self) -> None:
        self._consumer.close(autocommit=False)


def _records(batches: dict[Any, list[Any]]) -> list[Record]:
    records = []
    for messages in batches.values():
        for m in messages:
            headers = [(k, v) for k, v in (m.headers or [])]
            records.append(Record(m.topic, m.partition, m.offset, m.value or b"", m.key, headers))
    return records


class KafkaPythonReader:
    """Every partition of one topic from its end; no group (group_id None), no commits.
    The end is resolved before the constructor returns (see ``ConfluentReader``)."""

    def __init__(self, spec: KafkaSpec, topic: str, client_id: str):
        settings = client_settings(spec, client_id)
        settings.update({**spec.options, "group_id": None, "enable_auto_commit": False})
        self._consumer = KafkaConsumer(**settings)
        partitions = self._consumer.partitions_for_topic(topic)
        if not partitions:  # no topic yet: all it will ever hold comes after now
            first = _TopicPartition(topic, 0)
            self._consumer.assign([first])
            self._consumer.seek(first, 0)
            return
        assigned = [_TopicPartition(topic, p) for p in sorted(partitions)]
        self._consumer.assign(assigned)
        self._consumer.seek_to_end(*assigned)
        for tp in assigned:  # resolve the end now: what is published from here on is read
            self._consumer.position(tp)

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        return _records(self._consumer.poll(timeout_ms=int(timeout * 1000),
                                            max_records=max_records))  # fmt: skip

    def close(self) -> None:
        self._consumer.close(autocommit=False)


class KafkaPythonProducer:
    def __init__(self, spec: KafkaSpec, client_id: str, max_queued: int):
        # kafka-python 3 has no bounded buffer setting of its own: count what is queued.
        self.max_queued = max_queued
        self._queued = 0
        settings = client_settings(spec, client_id)
        settings.update(
            {
                "linger_ms": 20,
                # Fail fast when no broker answers; the SDK retries in its own thread.
                "bootstrap_timeout_ms": 2000,
                "acks": "all",
                "retries": 5,
                "max_block_ms": 10_000,
                **spec.options,
            }
        )
        self._producer = KafkaProducer(**settings)
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


class KafkaPythonAdmin:
    def __init__(self, spec: KafkaSpec):
        self._spec = spec
        self._admin = KafkaAdminClient(**client_settings(spec, "driftd-admin"))

    def create_topics(self, topics: dict[str, int], replication_factor: int) -> list[str]:
        created = []
        for name, partitions in topics.items():
            try:
                self._admin.create_topics([NewTopic(name, partitions, replication_factor)])
                created.append(name)
            except TopicAlreadyExistsError:
                pass
        return created

    def partition_count(self, topic: str) -> int | None:
        described = self._admin.describe_topics([topic])
        if not described or described[0].get("error_code"):
            return None
        return len(described[0]["partitions"])

    def group_lag(self, group: str, topics: list[str]) -> list[tuple[str, int, int, int]]:
        # A consumer that never subscribes reads the group's committed offsets without
        # joining it.
        reader = KafkaConsumer(**client_settings(self._spec, "driftd-status"), group_id=group,
                               enable_auto_commit=False)  # fmt: skip
        try:
            rows = []
            for topic in topics:
                parts = [_TopicPartition(topic, p)
                         for p in sorted(reader.partitions_for_topic(topic) or [])]  # fmt: skip
                ends = reader.end_offsets(parts) if parts else {}
                for tp in parts:
                    rows.append((topic, tp.partition, max(reader.committed(tp) or 0, 0), ends[tp]))
            return rows
        finally:
            reader.close(autocommit=False)

    def close(self) -> None:
        self._admin.close()
