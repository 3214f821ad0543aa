"""The SDK over a real broker, installed as an app installs it: keyed by model, flushed
at interpreter exit, with nothing of the daemon in its virtualenv."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from driftd.config.services import KafkaSpec, TopicsSpec
from driftd.consumers.kafka.clients import open_admin, open_consumer

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SDK = Path(__file__).resolve().parents[2] / "sdk" / "python"


@pytest.fixture(scope="module")
def sdk_python(tmp_path_factory) -> str:
    """A fresh virtualenv with ``pip install sdk/python[confluent]`` and nothing else."""
    venv = tmp_path_factory.mktemp("sdk-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    f"{SDK}[confluent]"], check=True, timeout=600)  # fmt: skip
    listed = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], check=True,
                            capture_output=True, text=True).stdout  # fmt: skip
    names = {line.split("==")[0].lower() for line in listed.splitlines()}
    assert names - {"pip", "setuptools"} == {"driftd-sdk", "msgspec", "kafka-python",
                                             "confluent-kafka"}, names  # fmt: skip
    # The wheel carries the event JSON Schema.
    probe = "import driftd_sdk; print(driftd_sdk.event_schema()['$schema'])"
    shown = subprocess.run([python, "-c", probe], check=True, capture_output=True, text=True)
    assert "2020-12" in shown.stdout
    return python


class _FromStart:
    def assigned(self, partitions):
        return dict.fromkeys(partitions)

    def revoked(self, partitions):
        pass


@pytest.mark.parametrize("client", ["kafka-python", "confluent"])
def test_an_app_that_exits_without_closing_still_delivers_everything(
    kafka_service, client, sdk_python
):
    suffix = uuid.uuid4().hex[:8]
    topics = TopicsSpec(predictions=f"p-{suffix}", labels=f"l-{suffix}")
    spec = KafkaSpec(bootstrap_servers=kafka_service.address, group_id=f"sdk-{suffix}")
    open_admin(spec).create_topics({topics.predictions: 3, topics.labels: 3}, 1)
    app = textwrap.dedent(
        f"""
        from driftd_sdk import Publisher, Topics
        publisher = Publisher.kafka({kafka_service.address!r}, {client!r},
                                    Topics(predictions={topics.predictions!r},
                                           labels={topics.labels!r}))
        for i in range(500):
            model = "m%d" % (i % 5)
            event_id = publisher.publish_prediction(model, {{"x": i}}, 1, score=0.7)
            publisher.publish_label(model, event_id, 1)
        # no close(): the atexit hook must flush
        """
    )
    subprocess.run([sdk_python, "-c", app], check=True, timeout=120)
    consumer = open_consumer(spec)
    consumer.subscribe([topics.predictions, topics.labels], _FromStart())
    records = []
    deadline = time.monotonic() + 120
    while len(records) < 1000 and time.monotonic() < deadline:
        records += consumer.poll(1000, 0.5)
    consumer.close()
    assert len(records) == 1000
    partition_of: dict[bytes, set[tuple[str, int]]] = {}
    for r in records:
        partition_of.setdefault(r.key, set()).add((r.topic, r.partition))
    assert sorted(partition_of) == [b"m0", b"m1", b"m2", b"m3", b"m4"]
    for places in partition_of.values():  # same partition number in both topics
        assert len({p for _, p in places}) == 1 and len(places) == 2


def test_a_refused_message_is_counted_though_only_failures_are_reported(kafka_service):
    """The confluent producer asks librdkafka for failure reports only and serves them
    every few hundred messages and at flush: a message the broker refuses (larger than
    the topic's max.message.bytes) is still counted, and the others are delivered."""
    from confluent_kafka.admin import AdminClient, NewTopic
    from driftd_sdk.kafka.confluent import ConfluentProducer

    topic = f"small-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka_service.address})
    admin.create_topics([NewTopic(topic, 1, 1, config={"max.message.bytes": "100000"})])[
        topic
    ].result(60)
    producer = ConfluentProducer({"bootstrap.servers": kafka_service.address}, 10_000)
    for i in range(600):  # past POLL_EVERY: the sparse polls run too
        producer.produce(topic, b"fine %d" % i)
    assert producer.flush(60) == 0 and producer.failures == 0
    # Alone (the broker refuses a whole record batch): incompressible, over the limit.
    producer.produce(topic, os.urandom(300_000))
    assert producer.flush(60) == 0
    assert producer.failures == 1
    spec = KafkaSpec(bootstrap_servers=kafka_service.address, group_id=f"g-{topic}")
    consumer = open_consumer(spec)
    consumer.subscribe([topic], _FromStart())
    records: list = []
    deadline = time.monotonic() + 60
    while len(records) < 600 and time.monotonic() < deadline:
        records += consumer.poll(1000, 0.5)
    consumer.close()
    assert sorted(r.value for r in records) == sorted(b"fine %d" % i for i in range(600))
