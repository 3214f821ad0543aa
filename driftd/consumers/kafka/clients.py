"""Kafka clients by name: ``kafka.client`` picks confluent-kafka (the default) or
kafka-python; each module is imported only when chosen."""

from __future__ import annotations

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


def open_reader(spec: KafkaSpec, topic: str, client_id: str = "driftd-reader") -> Reader:
    """``topic`` from its current end, with no consumer group (see :class:`Reader`)."""
    if spec.client == "kafka-python":
        from driftd.consumers.kafka.kafkapython import KafkaPythonReader

        return KafkaPythonReader(spec, topic, client_id)
    from driftd.consumers.kafka.confluent import ConfluentReader

    return ConfluentReader(spec, topic, client_id)
