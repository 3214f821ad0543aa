"""Kafka clients by name: ``kafka.client`` picks confluent-kafka (the default) or
kafka-python; each module is imported only when chosen. Producers and readers are the
SDK's (driftd_sdk.kafka), consumers and admin clients the daemon's own."""

from __future__ import annotations

from typing import Any

from driftd_sdk import kafka as sdk_kafka

from driftd.config.services import KafkaSpec
from driftd.consumers.source import Admin, Producer, Reader, Source


def open_consumer(spec: KafkaSpec, client_id: str = "driftd") -> Source:
    if spec.client == "kafka-python":
        from driftd.consumers.kafka.kafkapython import KafkaPythonConsumer

        return KafkaPythonConsumer(spec, client_id)
    from driftd.consumers.kafka.confluent import ConfluentConsumer

    return ConfluentConsumer(spec, client_id)


def open_producer(
    spec: KafkaSpec, client_id: str = "driftd", max_queued: int = 100_000
) -> Producer:
    """The SDK's producer of ``kafka.client``, with driftd's security settings."""
    return sdk_kafka.open_producer(spec.client, _settings(spec, client_id), max_queued)


def open_admin(spec: KafkaSpec) -> Admin:
    if spec.client == "kafka-python":
        from driftd.consumers.kafka.kafkapython import KafkaPythonAdmin

        return KafkaPythonAdmin(spec)
    from driftd.consumers.kafka.confluent import ConfluentAdmin

    return ConfluentAdmin(spec)


def open_reader(spec: KafkaSpec, topic: str, client_id: str = "driftd-reader") -> Reader:
    """``topic`` from its current end, with no consumer group (see :class:`Reader`)."""
    return sdk_kafka.open_reader(spec.client, _settings(spec, client_id), topic)


def _settings(spec: KafkaSpec, client_id: str) -> dict[str, Any]:
    """Bootstrap, client id and security in the client's own names, then ``kafka.options``."""
    if spec.client == "kafka-python":
        from driftd.consumers.kafka.kafkapython import client_settings
    else:
        from driftd.consumers.kafka.confluent import client_settings
    return {**client_settings(spec, client_id), **spec.options}
