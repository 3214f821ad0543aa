"""The SDK's promise to apps: never raise, never block, bounded memory, counted drops."""

from __future__ import annotations

import subprocess
import sys
import time

from driftd_sdk import Publisher
from services.local import free_port

from driftd.consumers.local import LocalBroker
from driftd.events import EventDecoder, Label, Prediction


def test_embedded_publisher_speaks_the_event_schema():
    bus = LocalBroker()
    publisher = Publisher.embedded(bus)
    event_id = publisher.publish_prediction(
        "credit",
        {"age": 37, "job": "sales"},
        1,
        score=0.83,
        timestamp=1_800_000_000,
        model_version="3",
        attributes={"sex": "f"},
        latency_ms=4.5,
    )
    publisher.publish_label("credit", event_id, 0, timestamp=1_800_000_100)
    messages = bus.take(10)
    assert [record.topic for record in messages] == ["driftd.predictions", "driftd.labels"]
    decoder = EventDecoder({"credit"}, 1 << 20)
    prediction = decoder.decode(messages[0].value, "t", 0)
    label = decoder.decode(messages[1].value, "t", 1)
    assert isinstance(prediction, Prediction) and isinstance(label, Label)
    assert prediction.event_id == label.event_id == event_id and len(event_id) == 32
    assert prediction.features == {"age": 37, "job": "sales"}
    assert prediction.attributes == {"sex": "f"} and prediction.latency_ms == 4.5
    assert publisher.stats.sent == 2 and publisher.stats.dropped == 0


def test_unencodable_input_is_dropped_and_counted_not_raised():
    bus = LocalBroker()
    publisher = Publisher.embedded(bus)
    publisher.publish_prediction("m", {"x": object()}, 1)
    publisher.publish_label("m", "e1", object())  # type: ignore[arg-type]
    assert publisher.stats.dropped == 2 and len(bus) == 0


def test_an_unreachable_broker_costs_events_not_latency():
    dead = f"127.0.0.1:{free_port()}"  # nothing listens here
    publisher = Publisher.kafka(dead, "kafka-python", max_buffer=200, request_timeout_ms=1000)
    started = time.perf_counter()
    slowest = 0.0
    for i in range(2000):
        t0 = time.perf_counter()
        publisher.publish_prediction("m", {"x": i}, 1)
        slowest = max(slowest, time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    # Blocking would mean seconds (connection and request timeouts); allow for a busy CI.
    assert slowest < 0.5 and elapsed < 5.0, (slowest, elapsed)
    # The bounded buffer held at most 200; the rest were dropped and counted.
    assert publisher.stats.dropped >= 2000 - 200 - 1000  # 1000: at most one batch in flight
    t0 = time.perf_counter()
    publisher.close(timeout=1.0)
    assert time.perf_counter() - t0 < 8.0
    # Every event is accounted for: none sent, all dropped (queued, in flight or refused).
    assert publisher.stats.sent == 0 and publisher.stats.dropped == 2000


def test_the_sdk_imports_nothing_of_the_daemon_nor_its_heavy_libraries():
    """What an app pays at import: the SDK alone, msgspec and the standard library. A
    top-level import of driftd, numpy or a Kafka client in driftd_sdk fails this."""
    probe = (
        "import sys, driftd_sdk\n"
        "from driftd_sdk import ModelClient, Publisher\n"
        "heavy = {'driftd', 'numpy', 'scipy', 'sklearn', 'skops', 'pandas', 'kafka',\n"
        "         'confluent_kafka', 'mlflow'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True, timeout=60).stdout  # fmt: skip
    assert out.strip() == "[]"
