"""The small Kafka interface driftd needs, so either client library can sit behind it.

Two implementations pass one contract suite (``tests/runtime/test_client_contract.py``):
:mod:`~driftd.consumers.kafka.confluent` (librdkafka; the daemon's default, ~40x
faster here) and :mod:`~driftd.consumers.kafka.kafkapython` (pure Python, the
lighter install for apps that only publish).

The consumer works in batches and hands partition assignment to a listener that
returns the offsets to start from: driftd's offsets live in Redis next to the
state they produced, so the listener, not Kafka's committed offsets, decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from driftd.config.services import KafkaSpec
from driftd.credentials import resolve_secret

TopicPartition = tuple[str, int]


@dataclass(slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    value: bytes
    key: bytes | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


class BufferFull(RuntimeError):
    """The producer's local queue is full; the caller decides whether to wait or drop."""


class RebalanceListener(Protocol):
    def assigned(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int | None]:
        """Partitions now ours; returns where to start each (None: the configured default)."""

    def revoked(self, partitions: list[TopicPartition]) -> None:
        """Partitions about to go to another member: checkpoint them now."""


class Consumer(Protocol):
    def subscribe(self, topics: list[str], listener: RebalanceListener) -> None: ...

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

    def close(self) -> None: ...


class Producer(Protocol):
    failures: int

    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        """Queue one message; raises BufferFull when the local queue is full."""

    def flush(self, timeout: float) -> int:
        """Wait for queued messages; returns how many are still undelivered."""

    def close(self) -> None: ...


class Admin(Protocol):
    def create_topics(self, topics: dict[str, int], replication_factor: int) -> list[str]:
        """Create missing topics with the given partition counts; returns the names created."""

    def partition_count(self, topic: str) -> int | None: ...

    def close(self) -> None: ...


def security_settings(spec: KafkaSpec, names: dict[str, str]) -> dict[str, Any]:
    """driftd's security settings under a client's own names, secrets read from the env.

    ``names`` maps protocol, mechanism, username, password, cafile, certfile, keyfile
    to the client's setting names.
    """
    security = spec.security
    settings: dict[str, Any] = {names["protocol"]: security.protocol}
    if security.sasl_mechanism:
        settings[names["mechanism"]] = security.sasl_mechanism
        settings[names["username"]] = resolve_secret(
            security.sasl_username_env, "kafka.security.sasl_username_env", secret=False
        )
        settings[names["password"]] = resolve_secret(
            security.sasl_password_env, "kafka.security.sasl_password_env"
        )
    for kind in ("cafile", "certfile", "keyfile"):
        value = getattr(security, f"ssl_{kind}")
        if value:
            settings[names[kind]] = value
    return settings


def open_consumer(spec: KafkaSpec, client_id: str = "driftd") -> Consumer:
    if spec.client == "kafka-python":
        from driftd.consumers.kafka.kafkapython import KafkaPythonConsumer

        return KafkaPythonConsumer(spec, client_id)
    from driftd.consumers.kafka.confluent import ConfluentConsumer

    return ConfluentConsumer(spec, client_id)


def open_producer(
    spec: KafkaSpec, client_id: str = "driftd", max_queued: int = 100_000
) -> Producer:
    if spec.client == "kafka-python":
        from driftd.consumers.kafka.kafkapython import KafkaPythonProducer

        return KafkaPythonProducer(spec, client_id, max_queued)
    from driftd.consumers.kafka.confluent import ConfluentProducer

    return ConfluentProducer(spec, client_id, max_queued)


def open_admin(spec: KafkaSpec) -> Admin:
    if spec.client == "kafka-python":
        from driftd.consumers.kafka.kafkapython import KafkaPythonAdmin

        return KafkaPythonAdmin(spec)
    from driftd.consumers.kafka.confluent import ConfluentAdmin

    return ConfluentAdmin(spec)
