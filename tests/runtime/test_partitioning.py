"""Results do not depend on how producers partition or key (Kafka + Redis, `driftd run`).

Producers partition as their client does: librdkafka (confluent-kafka, Go, Node, kcat)
by CRC32 of the key, Java and kafka-python by murmur2, some apps key by anything
(a request id) or not at all. The same stream published each of those ways must give
the same final readings, equal to the batch recomputation; so must a stream whose
every message was published a different way, with the daemon killed mid-stream.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
import uuid
from collections import defaultdict

import pytest
from confluent_kafka import Producer
from runtime.harness import (
    Background,
    assert_equals_recomputation,
    final_readings,
    kill_mid_stream,
)
from runtime.stream import MODELS, Stream, expected_readings, make_stream

from driftd.consumers.kafka.clients import open_consumer
from driftd.consumers.routing import partition_for

pytestmark = [pytest.mark.kafka, pytest.mark.redis]

# scheme -> (librdkafka partitioner, key for a model's message). The unkeyed producer
# places every message on a random partition (`sticky.partitioning.linger.ms: 0`): with
# the sticky default it switches partition on a timer, so whether a short burst spreads
# would depend on the machine's speed, not on anything the test controls.
SCHEMES = {
    "crc32": ("consistent_random", lambda model: model.encode()),
    "murmur2": ("murmur2_random", lambda model: model.encode()),
    "random-keys": ("murmur2_random", lambda model: uuid.uuid4().bytes),
    "no-keys": ("consistent_random", lambda model: None),
}


def publish_as(setup, stream, scheme_of, chunk: int = 0, pause: float = 0.0):
    """Publish the stream's bytes, message i with scheme ``scheme_of(i)``; returns the
    partitions each model's messages were acknowledged on, per topic."""
    config = setup.config
    topics = {"predictions": config.kafka.topics.predictions, "labels": config.kafka.topics.labels}
    placed: dict[tuple[str, str], set[int]] = defaultdict(set)
    producers = {name: Producer({"bootstrap.servers": config.kafka.bootstrap_servers,
                                 "partitioner": partitioner, "linger.ms": 20,
                                 "sticky.partitioning.linger.ms": 0})
                 for name, (partitioner, _) in SCHEMES.items()}  # fmt: skip

    def delivered(model, kind):
        def callback(error, message):
            assert error is None, error
            placed[(kind, model)].add(message.partition())

        return callback

    for i, (kind, model, raw) in enumerate(stream.messages):
        scheme = scheme_of(i)
        producer = producers[scheme]
        producer.produce(topics[kind], raw, SCHEMES[scheme][1](model),
                         on_delivery=delivered(model, kind))  # fmt: skip
        producer.poll(0)
        if chunk and i % chunk == chunk - 1:
            time.sleep(pause)
    for producer in producers.values():
        assert producer.flush(120) == 0
    return placed


def test_every_partitioner_and_key_gives_the_same_readings_as_the_recomputation(
    make_setup, daemons
):
    stream = make_stream(6_000, seed=11, label_lag=800)
    results = {}
    for scheme in SCHEMES:
        setup = make_setup(partitions=4)
        placed = publish_as(setup, stream, lambda i, s=scheme: s)
        home = {m: {partition_for(m, 4)} for m in MODELS}
        if scheme == "murmur2":  # the SDK's and Java's choice: each model in its place
            assert all(placed[("predictions", m)] == home[m] for m in MODELS)
        elif scheme == "crc32":  # not where murmur2 puts them (the churn: 0 vs 5)
            assert any(placed[("predictions", m)] != home[m] for m in MODELS), placed
        else:  # each model spread over the partitions
            assert all(len(placed[(k, m)]) > 1 for k in ("predictions", "labels") for m in MODELS)
        daemon = daemons(setup.config_path, "--idle-exit", "3")
        readings = final_readings(setup, stream)
        assert daemon.process.wait(120) == 0, daemon.log()[-3000:]
        assert_equals_recomputation(setup, stream, readings)
        results[scheme] = readings
    # The same readings whatever the partitioning: the same names, and the same values of
    # every order-free reading. (Sequential tests follow arrival order, which across
    # input partitions is the interleaving of their reads: docs/scaling.md.)
    first = results["crc32"]
    order_free = expected_readings(stream, MODELS[0], setup.reference)
    for scheme, readings in results.items():
        for model in MODELS:
            assert set(readings[model]) == set(first[model])
            for name in order_free:
                value = first[model][name]
                assert readings[model][name] == pytest.approx(value, rel=1e-9, abs=1e-12), (
                    scheme, model, name,
                )  # fmt: skip


def test_mixed_partitioners_under_kill_9_lose_nothing_and_count_nothing_twice(
    make_setup, daemons
):
    setup = make_setup(partitions=4)
    stream = make_stream(24_000, seed=12)
    order = random.Random(3)
    schemes = [order.choice(list(SCHEMES)) for _ in stream.messages]
    producer = Background(publish_as, setup, stream, schemes.__getitem__, 3000, 1.0)
    progress = kill_mid_stream(setup, daemons, 3, seed=4)
    producer.finish()
    daemon = daemons(setup.config_path)
    readings = final_readings(setup, stream)
    assert_equals_recomputation(setup, stream, readings)  # join.duplicates == 0 included
    total = len(stream.messages)
    assert sum(1 for p in progress if 0 < p < total) >= 2, progress
    deadline = time.monotonic() + 60
    while "assigned partitions" not in daemon.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert daemon.terminate() == 0


class _Everything:
    def assigned(self, partitions):
        return dict.fromkeys(partitions)

    def revoked(self, partitions):
        pass


def dead_letters(setup, expected: int) -> list:
    config = setup.config
    spec = config.kafka.__class__(bootstrap_servers=config.kafka.bootstrap_servers,
                                  group_id=f"dlq-{uuid.uuid4().hex[:6]}")  # fmt: skip
    consumer = open_consumer(spec)
    consumer.subscribe([config.kafka.topics.dead_letters], _Everything())
    letters = []
    for _ in range(40):
        letters += consumer.poll(1000, 0.5)
        if len(letters) >= expected:
            break
    letters += consumer.poll(1000, 1.0)  # nothing more than expected
    consumer.close()
    return letters


def _metrics(setup, model: str) -> dict:
    shown = subprocess.run(
        [sys.executable, "-m", "driftd.cli", "metrics", "--config", str(setup.config_path),
         "--model", model, "--json", "--redis"], capture_output=True, check=True,
    )  # fmt: skip
    return json.loads(shown.stdout)["metrics"]


def test_without_repartition_a_miskeyed_event_is_a_dead_letter_and_no_second_monitor(
    make_setup, daemons
):
    """The issue's reproduction: murmur2 keys, one invalid label keyed with another
    model, `driftd run --idle-exit` twice. Reading producers' partitioning as it is
    (``kafka.repartition: false``), the stray label is refused before any state exists
    for it, so no empty monitor shadows the real one after a restart."""
    setup = make_setup(partitions=6)
    path = setup.config_path
    text = path.read_text().replace("  partitions: 6\n", "  partitions: 6\n  repartition: false\n")
    path.write_text(text)
    from driftd.daemon.service import ensure_topics

    ensure_topics(setup.config, create=True)
    stream = make_stream(1_800, seed=13, label_lag=200)
    publish_as(setup, stream, lambda i: "murmur2")
    stray = {"type": "label", "event_id": "nope", "model_id": "fraud", "label": 1,
             "timestamp": 1_800_000_000.0}
    producer = Producer({"bootstrap.servers": setup.config.kafka.bootstrap_servers,
                         "partitioner": "murmur2_random"})  # fmt: skip
    wrong_key = next(m for m in MODELS if partition_for(m, 6) != partition_for("fraud", 6))
    producer.produce(setup.config.kafka.topics.labels, json.dumps(stray).encode(),
                     wrong_key.encode())  # fmt: skip
    assert producer.flush(60) == 0
    for _ in range(2):
        daemon = daemons(str(path), "--idle-exit", "3")
        assert daemon.process.wait(180) == 0, daemon.log()[-3000:]
    for model in MODELS:
        metrics = _metrics(setup, model)
        assert metrics["events.predictions"] == len(stream.predictions[model]), model
        assert metrics["events.labels"] == len(stream.labels[model]), model
    letters = dead_letters(setup, 1)
    assert [dict(r.headers)["driftd.reason"] for r in letters] == [b"misrouted"]
    status = subprocess.run(
        [sys.executable, "-m", "driftd.cli", "status", "--config", str(path), "--redis"],
        capture_output=True, text=True, check=True,
    )
    models_table = status.stdout.split("firing alerts")[0]
    rows = [line for line in models_table.splitlines() if line.startswith("│ fraud ")]
    assert len(rows) == 1, status.stdout  # one monitor for fraud, with its events
    assert f" {len(stream.predictions['fraud'])} " in rows[0]


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_switching_on_repartition_over_existing_state_counts_nothing_twice(
    make_setup, daemons, client
):
    """An upgrade from 0.9 (monitors on the event topics, offsets committed by the group):
    with routing on, the router starts where that group left the event partitions, so
    the state restored from Redis is continued, not recounted from the beginning."""
    setup = make_setup(client=client, partitions=4)
    path = setup.config_path
    routed_text = path.read_text()
    direct = routed_text.replace("  partitions: 4\n", "  partitions: 4\n  repartition: false\n")
    path.write_text(direct)
    stream = make_stream(6_000, seed=14, label_lag=400)
    half = len(stream.messages) // 2
    first, rest = Stream(), Stream()
    first.messages, rest.messages = stream.messages[:half], stream.messages[half:]
    publish_as(setup, first, lambda i: "murmur2")
    daemon = daemons(str(path), "--idle-exit", "3")
    assert daemon.process.wait(180) == 0, daemon.log()[-3000:]
    path.write_text(routed_text)  # the upgrade: routing on (the default)
    publish_as(setup, rest, lambda i: "murmur2")
    daemon = daemons(str(path), "--idle-exit", "3")
    readings = final_readings(setup, stream)
    assert daemon.process.wait(180) == 0, daemon.log()[-3000:]
    # Every event partition the first run read from (3 models: some partitions are empty).
    assert "event partitions where group" in daemon.log()
    assert_equals_recomputation(setup, stream, readings)
