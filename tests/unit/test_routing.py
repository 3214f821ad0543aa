"""driftd's partitioner, the routed path's repeat filter and the router's start-up
retries, without a broker."""

from __future__ import annotations

import json
import logging
import random
import threading

from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from driftd.config import load_config
from driftd.consumers.router import Router
from driftd.consumers.routing import (
    OriginMarks,
    destination,
    model_of,
    murmur2,
    origin_header,
    parse_origin,
    partition_for,
    topic_offsets,
)
from driftd.consumers.source import Record
from driftd.daemon.embedded import build_pipeline
from driftd.daemon.partitions import PartitionWorker


def test_murmur2_equals_the_java_clients_hash_as_kafka_python_implements_it():
    # Oracle: kafka-python's port of org.apache.kafka.common.utils.Utils.murmur2, which
    # Java producers, kafka-python and librdkafka's "murmur2" partitioner all share.
    rng = random.Random(7)
    keys = [b"", b"a", b"ab", b"abc", b"churn", "prix-\u00e9t\u00e9".encode()]
    keys += [rng.randbytes(rng.randint(0, 40)) for _ in range(2000)]
    for key in keys:
        assert murmur2(key) == kafka_python_murmur2(key) & 0xFFFFFFFF, key


def test_partition_for_is_the_java_default_partitioners_choice():
    for n in (1, 4, 6, 12):
        for model in ("churn", "price", "credit", "fraud", "m" * 300):
            want = (kafka_python_murmur2(model.encode()) & 0x7FFFFFFF) % n
            assert partition_for(model, n) == want


def test_destination_reads_only_the_model_id_and_routes_unreadable_bytes_by_content():
    event = json.dumps({"type": "label", "event_id": "e1", "model_id": "price", "label": 1})
    assert model_of(event.encode()) == "price"
    assert destination(event.encode(), 6) == ("price", partition_for("price", 6))
    for raw in (b"{not json", b"[1, 2]", b'{"model_id": 7}', b""):
        model, partition = destination(raw, 6)
        assert model is None and 0 <= partition < 6
        assert destination(raw, 6) == (None, partition)  # a replay goes to the same place


def test_origin_header_round_trip_and_marks_drop_repeats_only():
    name, value = origin_header("predictions", 3, 41)
    assert parse_origin([("other", b"x"), (name, value)]) == ("predictions:3", 41)
    assert parse_origin([]) is None and parse_origin([(name, b"garbage")]) is None
    marks = OriginMarks({"predictions-repartition": 10, "predictions:3": 40})
    assert marks.marks == {"predictions:3": 40}
    assert not marks.is_new("predictions:3", 40)
    assert marks.is_new("predictions:3", 41) and not marks.is_new("predictions:3", 41)
    assert marks.is_new("predictions:4", 0)  # another input partition: its own mark
    assert topic_offsets({"t": 5, "t:0": 9}) == {"t": 5}


def _routed(events: list[dict], first_offset: int = 0) -> list[Record]:
    """Events as the router writes them: repartition-topic offsets, input origins."""
    return [
        Record("g-predictions-repartition", 0, first_offset + i, json.dumps(e).encode(), None,
               [origin_header("predictions", 2, 100 + i)])
        for i, e in enumerate(events)
    ]  # fmt: skip


def _prediction(i: int, model: str = "m1", extra: dict | None = None) -> dict:
    return {"type": "prediction", "event_id": f"e{i}", "model_id": model,
            "timestamp": 1.8e9 + i, "features": {"x": 0.1 * i, "color": "red"},
            "prediction": 1, "score": 0.7, "attributes": {"sex": "f"}, **(extra or {})}  # fmt: skip


def test_a_batch_routed_twice_is_counted_once_and_dead_letters_name_the_input(
    binary_config_file,
):
    config = load_config(binary_config_file)
    pipeline = build_pipeline(config, fresh=True, quiet=True)
    worker = PartitionWorker(0, pipeline, pipeline.store, routed=True)
    events = [_prediction(i) for i in range(50)]
    events[7] = {"type": "prediction", "model_id": "m1"}  # invalid: a dead letter
    worker.feed(_routed(events))
    # The router restarted before committing: the same input positions, written again.
    worker.feed(_routed(events, first_offset=50))
    monitor = pipeline.monitors["m1"]
    assert monitor.counts["predictions"] == 49
    assert worker.repeats == 50
    assert pipeline.dead_letters.total == 1
    [letter] = pipeline.dead_letters._pending
    assert (letter.source, letter.offset) == ("predictions:2", 107)
    stored = worker.offsets()
    assert stored == {"g-predictions-repartition": 100, "predictions:2": 149}
    # After a restart, the marks come back with the checkpoint and still drop repeats.
    pipeline.checkpoint(stored)
    again = PartitionWorker(0, pipeline, pipeline.store, routed=True)
    assert again.origins is not None and again.origins.marks == {"predictions:2": 149}


def test_reading_producers_partitioning_a_misrouted_event_is_a_dead_letter_not_a_monitor(
    binary_config_file,
):
    from driftd.daemon.pipeline import Pipeline

    config = load_config(binary_config_file)
    base = build_pipeline(config, fresh=True, quiet=True)
    owner = partition_for("m1", 4)
    elsewhere = Pipeline(config, base.store, base.dispatcher, base.dead_letters, eager=False,
                         owns=lambda model: partition_for(model, 4) == (owner + 1) % 4)  # fmt: skip
    elsewhere.process([(json.dumps(_prediction(1)).encode(), "predictions:1", 5)])
    assert elsewhere.monitors == {}
    assert elsewhere.dead_letters.counts == {"misrouted": 1}
    home = Pipeline(config, base.store, base.dispatcher, base.dead_letters, eager=False,
                    owns=lambda model: partition_for(model, 4) == owner)  # fmt: skip
    home.process([(json.dumps(_prediction(1)).encode(), "predictions:0", 5)])
    assert list(home.monitors) == ["m1"]


def test_the_routers_preparation_is_retried_then_given_up_loudly_never_fatal(caplog):
    """A broker still loading its group coordinator fails the start-offset setup: the
    router retries it like a connection, and past ``prepare_seconds`` routes anyway."""
    stopping = threading.Event()
    calls = {"prepare": 0, "open": 0}

    def prepare() -> None:
        calls["prepare"] += 1
        raise ConnectionError("coordinator load in progress")

    def open_clients():
        calls["open"] += 1
        stopping.set()  # routing would start here: the preparation is over
        raise ConnectionError("stop here")

    router = Router(open_clients, {"in": "out"}, 3, 10, stopping, prepare=prepare)
    router.prepare_seconds = 0.6  # retries at 0.5 s, then gives up
    with caplog.at_level(logging.WARNING, logger="driftd.router"):
        router.run()
    assert calls["prepare"] >= 2 and calls["open"] == 1
    assert router.prepare is None
    assert "giving up its preparation" in caplog.text
    assert caplog.text.count("coordinator load in progress") >= 2


def test_a_successful_preparation_runs_once():
    stopping = threading.Event()
    calls = {"prepare": 0, "open": 0}

    def open_clients():
        calls["open"] += 1
        if calls["open"] == 2:
            stopping.set()
        raise ConnectionError("broker away")

    router = Router(open_clients, {"in": "out"}, 3, 10, stopping,
                    prepare=lambda: calls.__setitem__("prepare", calls["prepare"] + 1))  # fmt: skip
    router.run()
    assert calls == {"prepare": 1, "open": 2}
