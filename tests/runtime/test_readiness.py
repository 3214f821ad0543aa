"""Lag per partition and the readiness it gates, against the broker's own end offsets."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from confluent_kafka import Consumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families
from runtime.harness import publish
from runtime.stream import make_stream

from driftd.config.services import KafkaSpec
from driftd.consumers.kafka.probe import BrokerProbe
from driftd.daemon.service import build_kafka_runtime, start_http

pytestmark = [pytest.mark.kafka, pytest.mark.redis]


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_lag_is_the_distance_to_the_end_and_gates_readiness(make_setup):
    setup = make_setup(partitions=2)
    stream = make_stream(3000, seed=5)
    publish(setup, stream)
    config = setup.config
    config.http.ready_max_lag = 10
    topics = [config.kafka.topics.predictions, config.kafka.topics.labels]
    runtime = build_kafka_runtime(config, quiet=True)
    probe = BrokerProbe(config.kafka, topics[0], interval=0.5).start()
    server = start_http(config, runtime, probe)
    try:
        runtime.source.subscribe(topics, runtime)
        consumed: dict[tuple[str, int], int] = {}
        deadline = time.monotonic() + 120
        while len(consumed) < 4 and time.monotonic() < deadline:  # a little of each
            records = runtime.source.poll(50, 1.0)
            runtime.partitions.feed(records)
            for r in records:
                consumed[(r.topic, r.partition)] = r.offset + 1
        runtime.measure_lag(at_most_every=0.0)

        oracle = Consumer({"bootstrap.servers": config.kafka.bootstrap_servers,
                           "group.id": "lag-oracle"})  # fmt: skip
        ends = {tp: oracle.get_watermark_offsets(TopicPartition(*tp), timeout=10)[1]
                for tp in consumed}  # fmt: skip
        oracle.close()
        assert runtime.lag == {tp: ends[tp] - consumed[tp] for tp in consumed}
        assert max(runtime.lag.values()) > 10  # far behind the bound

        deadline = time.monotonic() + 60
        while not probe.reachable() and time.monotonic() < deadline:
            time.sleep(0.2)
        status, body = _get(server.port, "/readyz")
        checks = json.loads(body)["checks"]
        assert status == 503 and checks["lag_under_bound"] is False
        assert checks["broker_reachable"] and checks["partitions_assigned"]
        _, scrape = _get(server.port, "/metrics")
        families = {f.name: f for f in text_string_to_metric_families(scrape.decode())}
        lag = {(s.labels["topic"], int(s.labels["partition"])): s.value
               for s in families["driftd_consumer_lag"].samples}  # fmt: skip
        assert lag == runtime.lag
    finally:
        server.stop()
        probe.stop()
        runtime.shutdown()


def test_an_unreachable_broker_fails_the_probe():
    import socket

    with socket.socket() as unused:  # a loopback port nobody listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    probe = BrokerProbe(KafkaSpec(bootstrap_servers=f"127.0.0.1:{port}"), "t", 0.2).start()
    deadline = time.monotonic() + 60
    while not probe.last_error and time.monotonic() < deadline:
        time.sleep(0.2)
    probe.stop()
    assert probe.last_error and not probe.reachable()
