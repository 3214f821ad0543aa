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

from kafka import KafkaAdminClient, KafkaConsumer
from kafka.admin import NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.errors import TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata
from kafka.structs import TopicPartition as _TopicPartition

from driftd.config.services import KafkaSpec
from driftd.consumers.kafka.settings import security_settings
from driftd.consumers.source import RebalanceListener, Record, TopicPartition

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
