"""One contract, both Kafka clients: what driftd relies on from a client library."""

from __future__ import annotations

import time
import uuid

import pytest

from driftd.config.services import KafkaSpec
from driftd.consumers.kafka.clients import open_admin, open_consumer, open_producer, open_reader
from driftd.consumers.source import TopicPartition

pytestmark = pytest.mark.kafka

CLIENTS = ["confluent", "kafka-python"]


class Recorder:
    """A rebalance listener that starts partition 1 at a chosen offset."""

    def __init__(self, starts: dict[TopicPartition, int] | None = None):
        self.starts = starts or {}
        self.assigned_calls: list[list[TopicPartition]] = []
        self.revoked_calls: list[list[TopicPartition]] = []

    def assigned(self, partitions):
        self.assigned_calls.append(sorted(partitions))
        return {tp: self.starts.get(tp) for tp in partitions}

    def revoked(self, partitions):
        self.revoked_calls.append(sorted(partitions))


def _spec(kafka_service, client: str, **kw) -> KafkaSpec:
    return KafkaSpec(
        bootstrap_servers=kafka_service.address,
        client=client,
        group_id=f"g-{uuid.uuid4().hex[:8]}",
        session_timeout=6,
        **kw,
    )


def _drain(consumer, expected: int, timeout: float = 120.0) -> list:
    records = []
    deadline = time.monotonic() + timeout
    while len(records) < expected and time.monotonic() < deadline:
        records.extend(consumer.poll(1000, 0.5))
    return records


@pytest.fixture
def topic(kafka_service):
    name = f"contract-{uuid.uuid4().hex[:8]}"
    admin = open_admin(_spec(kafka_service, "confluent"))
    assert admin.create_topics({name: 3}, 1) == [name]
    assert admin.create_topics({name: 3}, 1) == []  # idempotent
    admin.close()
    return name


@pytest.mark.parametrize("client", CLIENTS)
def test_admin_reports_partitions(kafka_service, topic, client):
    admin = open_admin(_spec(kafka_service, client))
    assert admin.partition_count(topic) == 3
    assert admin.partition_count(f"missing-{uuid.uuid4().hex[:6]}") is None
    admin.close()


def test_both_producers_put_a_key_on_the_same_partition(kafka_service, topic):
    """Apps may publish with either client; a model must land on one partition number."""
    keys = [f"model-{i}".encode() for i in range(40)]
    for client in CLIENTS:
        producer = open_producer(_spec(kafka_service, client))
        for key in keys:
            producer.produce(topic, client.encode(), key, [("h", b"v")])
        assert producer.flush(20) == 0
        producer.close()
    consumer = open_consumer(_spec(kafka_service, "confluent"))
    consumer.subscribe([topic], Recorder())
    records = _drain(consumer, 80)
    consumer.close()
    assert len(records) == 80
    where: dict[bytes, set[int]] = {}
    for r in records:
        where.setdefault(r.key, set()).add(r.partition)
        assert r.headers == [("h", b"v")]
    assert all(len(parts) == 1 for parts in where.values())
    assert len({p for parts in where.values() for p in parts}) > 1  # keys spread out


@pytest.mark.parametrize("client", CLIENTS)
def test_consumer_contract(kafka_service, topic, client):
    spec = _spec(kafka_service, client)
    producer = open_producer(spec)
    for i in range(300):
        producer.produce(topic, f"v{i}".encode(), f"k{i % 7}".encode())
    assert producer.flush(20) == 0
    producer.close()

    # Partition 1 starts at offset 5 (as if Redis said so); the others at the beginning.
    listener = Recorder({(topic, 1): 5})
    consumer = open_consumer(spec)
    consumer.subscribe([topic], listener)
    records = _drain(consumer, 300 - 5)
    per_partition: dict[int, list[int]] = {}
    for r in records:
        per_partition.setdefault(r.partition, []).append(r.offset)
    assert listener.assigned_calls == [[(topic, 0), (topic, 1), (topic, 2)]]
    assert min(per_partition[1]) == 5
    for offsets in per_partition.values():
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    assert len(records) == 300 - 5

    # Commit the next offsets; a new member of the same group with no stored start
    # (listener returns None) resumes... from the configured default, not the commit:
    # driftd's offsets live in Redis. The commit is what lag tools read.
    ends = {(topic, p): max(offs) + 1 for p, offs in per_partition.items()}
    # End offsets as of the last fetch (what lag is computed from): ours, fully read.
    marks = consumer.high_watermarks()
    assert {tp: high for tp, high in marks.items() if high} == ends
    consumer.commit(ends)
    consumer.pause(consumer.assignment())
    assert consumer.poll(100, 0.5) == []
    consumer.resume(consumer.assignment())
    consumer.close()
    assert listener.revoked_calls[-1] == [(topic, 0), (topic, 1), (topic, 2)]

    from confluent_kafka import Consumer, TopicPartition

    check = Consumer({"bootstrap.servers": kafka_service.address, "group.id": spec.group_id})
    committed = check.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
    check.close()
    assert {(topic, c.partition): c.offset for c in committed} == ends


@pytest.mark.parametrize("client", CLIENTS)
def test_two_members_split_partitions_by_range(kafka_service, client):
    """Partition p of both topics goes to the same member (the range assignor)."""
    a, b = f"pa-{uuid.uuid4().hex[:6]}", f"pb-{uuid.uuid4().hex[:6]}"
    admin = open_admin(_spec(kafka_service, "confluent"))
    admin.create_topics({a: 4, b: 4}, 1)
    spec = _spec(kafka_service, client)
    first, second = Recorder(), Recorder()
    c1, c2 = open_consumer(spec), open_consumer(spec)
    c1.subscribe([a, b], first)
    c2.subscribe([a, b], second)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # until the rebalance has settled (a busy machine
        c1.poll(10, 0.2)  # may show the first member still holding everything for a while)
        c2.poll(10, 0.2)
        one, two = set(c1.assignment()), set(c2.assignment())
        if one and two and not one & two and len(one | two) == 8:
            break
    c1.close()
    c2.close()
    assert not one & two and len(one | two) == 8
    for owned in (one, two):
        assert {p for t, p in owned if t == a} == {p for t, p in owned if t == b}


@pytest.mark.parametrize("client", CLIENTS)
def test_reader_reads_what_follows_its_start_and_joins_no_group(kafka_service, topic, client):
    from confluent_kafka.admin import AdminClient

    spec = _spec(kafka_service, client)
    producer = open_producer(spec)
    for i in range(30):  # before the reader: not for it
        producer.produce(topic, f"old-{i}".encode(), f"k{i}".encode())
    assert producer.flush(20) == 0
    groups = AdminClient({"bootstrap.servers": kafka_service.address})
    before = {g.group_id for g in groups.list_consumer_groups(request_timeout=10).result().valid}
    reader = open_reader(spec, topic)
    for i in range(30):  # after: every partition's new records
        producer.produce(topic, f"new-{i}".encode(), f"k{i}".encode())
    assert producer.flush(20) == 0
    producer.close()
    records = _drain(reader, 30)
    reader.close()
    assert sorted(r.value for r in records) == sorted(f"new-{i}".encode() for i in range(30))
    after = {g.group_id for g in groups.list_consumer_groups(request_timeout=10).result().valid}
    assert after == before


@pytest.mark.parametrize("client", CLIENTS)
def test_admin_reports_a_groups_lag(kafka_service, topic, client):
    spec = _spec(kafka_service, client)
    producer = open_producer(spec)
    for i in range(60):
        producer.produce(topic, b"x", f"k{i}".encode())
    assert producer.flush(20) == 0
    producer.close()
    consumer = open_consumer(spec)
    consumer.subscribe([topic], Recorder())
    records = _drain(consumer, 60)
    consumer.commit({(r.topic, r.partition): r.offset + 1 for r in records[:1]})
    consumer.close()
    admin = open_admin(spec)
    rows = admin.group_lag(spec.group_id, [topic])
    admin.close()
    ends = {}
    for r in records:
        ends[r.partition] = max(ends.get(r.partition, 0), r.offset + 1)
    first = records[0]
    assert {(t, p) for t, p, _, _ in rows} == {(topic, p) for p in range(3)}
    for _, p, committed, end in rows:
        assert end == ends.get(p, 0)
        assert committed == (first.offset + 1 if p == first.partition else 0)


@pytest.mark.parametrize("client", CLIENTS)
def test_a_reader_started_before_its_topic_exists_reads_all_it_will_hold(kafka_service, client):
    """An app may start following the models topic before driftd created it; then every
    record the topic comes to hold was published after the reader started."""
    spec = _spec(kafka_service, client)
    name = f"later-{uuid.uuid4().hex[:8]}"
    reader = open_reader(spec, name)
    admin = open_admin(spec)
    assert admin.create_topics({name: 1}, 1) in ([name], [])  # [] if the reader's lookup
    admin.close()  # made the broker create it (auto.create.topics.enable)
    producer = open_producer(spec)
    for i in range(5):
        producer.produce(name, f"first-{i}".encode(), b"k")
    assert producer.flush(20) == 0
    producer.close()
    records = _drain(reader, 5)
    reader.close()
    assert [r.value for r in records] == [f"first-{i}".encode() for i in range(5)]
