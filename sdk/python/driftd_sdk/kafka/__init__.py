"""The two Kafka clients behind one small interface: a keyed producer and a reader.

kafka-python (pure Python, the SDK's default: nothing to compile, a light install) or
confluent-kafka (librdkafka, ``pip install driftd-sdk[confluent]``). Both put a key on
the same partition number (the Java client's murmur2), so a model's predictions and
labels meet on one partition whichever client an app uses. Each client module is
imported only when chosen; the daemon builds its own producers and readers on these,
passing its security settings in the client's own names.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

CLIENTS = ("kafka-python", "confluent")


class BufferFull(RuntimeError):
    """The producer's local queue is full; the caller decides whether to wait or drop."""


class Message(NamedTuple):
    """One record read by a :class:`Reader`."""

    topic: str
    partition: int
    offset: int
    value: bytes
    key: bytes | None = None


class Producer(Protocol):
    failures: int  # deliveries the broker refused or that timed out, so far

    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> None:
        """Queue one message (to ``partition``, or the key's murmur2 partition); raises
        BufferFull when the local queue is full."""

    def flush(self, timeout: float) -> int:
        """Wait for deliveries; returns how many are still undelivered."""

    def close(self) -> None: ...


class Reader(Protocol):
    """One topic read from its end, outside any consumer group (nothing is stored on the
    broker): how apps follow the models topic."""

    def poll(self, max_records: int, timeout: float) -> list[Message]: ...

    def close(self) -> None: ...


def _check(client: str) -> None:
    if client not in CLIENTS:
        raise ValueError(f"unknown Kafka client {client!r}: choose one of {', '.join(CLIENTS)}")


def open_producer(client: str, settings: dict[str, Any], max_queued: int = 100_000) -> Producer:
    """A producer of ``client`` with ``settings`` in that client's own names
    (``bootstrap_servers`` for kafka-python, ``bootstrap.servers`` for confluent)."""
    _check(client)
    if client == "kafka-python":
        from driftd_sdk.kafka.kafka_python import KafkaPythonProducer

        return KafkaPythonProducer(settings, max_queued)
    from driftd_sdk.kafka.confluent import ConfluentProducer

    return ConfluentProducer(settings, max_queued)


def open_reader(client: str, settings: dict[str, Any], topic: str) -> Reader:
    """``topic`` from its current end, with no consumer group (see :class:`Reader`)."""
    _check(client)
    if client == "kafka-python":
        from driftd_sdk.kafka.kafka_python import KafkaPythonReader

        return KafkaPythonReader(settings, topic)
    from driftd_sdk.kafka.confluent import ConfluentReader

    return ConfluentReader(settings, topic)


def bootstrap_settings(client: str, bootstrap_servers: str, client_id: str) -> dict[str, Any]:
    """The broker list and client id in ``client``'s own setting names."""
    _check(client)
    if client == "kafka-python":
        return {"bootstrap_servers": bootstrap_servers.split(","), "client_id": client_id}
    return {"bootstrap.servers": bootstrap_servers, "client.id": client_id}
