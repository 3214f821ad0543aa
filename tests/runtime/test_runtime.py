"""`driftd run` on real Kafka and Redis: final metrics equal the batch recomputation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families
from runtime.harness import (
    Background,
    Daemon,
    assert_equals_recomputation,
    consumed,
    final_readings,
    kill_mid_stream,
    publish,
)
from runtime.stream import make_stream
from testdata import wait_until

from driftd.consumers.kafka.clients import open_consumer
from driftd.daemon.service import routes

pytestmark = [pytest.mark.kafka, pytest.mark.redis]


class _Everything:
    def assigned(self, partitions):
        return dict.fromkeys(partitions)

    def revoked(self, partitions):
        pass


def test_sdk_stream_to_final_metrics_with_dead_letters(make_setup, daemons, promtool):
    setup = make_setup()
    stream = make_stream(55_000, seed=1, malformed_fraction=0.01)
    assert len(stream.messages) >= 100_000
    publish(setup, stream)
    daemon = daemons(setup.config_path)
    readings = final_readings(setup, stream)
    config = setup.config
    # The live daemon's HTTP server (port 0: the one it logged).
    port = int(re.search(r"HTTP on 127\.0\.0\.1:(\d+)", daemon.log()).group(1))
    base = f"http://127.0.0.1:{port}"
    ready = json.loads(urllib.request.urlopen(f"{base}/readyz", timeout=10).read())
    assert ready["checks"] == {"store": True, "broker_reachable": True,
                               "partitions_assigned": True, "lag_under_bound": True,
                               "not_paused_by_dead_letters": True}  # fmt: skip
    scrape = urllib.request.urlopen(f"{base}/metrics", timeout=10).read().decode()
    families = {f.name: f for f in text_string_to_metric_families(scrape)}
    # The service's own families (consumer, router, delivery) pass Prometheus' linter too.
    linted = subprocess.run([promtool, "check", "metrics"], input=scrape, capture_output=True,
                            text=True)  # fmt: skip
    assert (linted.returncode, linted.stdout + linted.stderr) == (0, ""), scrape[:2000]
    # Caught up: every owned partition reports lag, and it is 0: the router's on both
    # event topics, the monitors' on both repartition topics.
    lag = {(s.labels["topic"], s.labels["partition"]): s.value
           for s in families["driftd_consumer_lag"].samples}  # fmt: skip
    assert len(lag) == 16 and set(lag.values()) == {0.0}, lag
    topics = config.kafka.topics
    assert {t for t, _ in lag} == {topics.predictions, topics.labels, *routes(config).values()}
    assert families["driftd_router_events"].samples[0].value == len(stream.messages)
    assert families["driftd_broker_reachable"].samples[0].value == 1.0
    assert families["driftd_records_consumed"].samples[0].value == len(stream.messages)
    dead = {s.labels["reason"]: s.value for s in families["driftd_dead_letters"].samples}
    assert dead == {"malformed_json": stream.malformed}
    assert daemon.terminate() == 0, daemon.log()[-3000:]
    assert_equals_recomputation(setup, stream, readings)
    shown = subprocess.run(
        [sys.executable, "-m", "driftd.cli", "metrics", "--config", str(setup.config_path),
         "--model", "credit", "--json", "--redis"],
        capture_output=True, check=True,
    )  # fmt: skip
    assert json.loads(shown.stdout)["metrics"] == readings["credit"]
    status = subprocess.run(
        [sys.executable, "-m", "driftd.cli", "status", "--config", str(setup.config_path),
         "--redis"], capture_output=True, text=True, check=True,
    )  # fmt: skip
    lag_rows = [line for line in status.stdout.splitlines() if "predictions-" in line]
    assert len(lag_rows) == 8 and all(line.rstrip(" │").endswith(" 0") for line in lag_rows)
    assert f"consumer group {config.kafka.group_id}-router" in status.stdout

    # Every malformed message is in the dead-letter topic with its reason and origin.
    consumer = open_consumer(
        config.kafka.__class__(
            bootstrap_servers=config.kafka.bootstrap_servers, group_id="dlq-reader"
        )
    )
    consumer.subscribe([config.kafka.topics.dead_letters], _Everything())
    letters = []
    for _ in range(60):
        letters += consumer.poll(5000, 0.5)
        if len(letters) >= stream.malformed:
            break
    consumer.close()
    assert len(letters) == stream.malformed
    headers = dict(letters[0].headers)
    assert headers["driftd.reason"] == b"malformed_json"
    assert headers["driftd.source.topic"] in (
        config.kafka.topics.predictions.encode(),
        config.kafka.topics.labels.encode(),
    )
    assert int(headers["driftd.source.offset"]) >= 0
    assert letters[0].value.startswith(b'{"type": "prediction", "event_id": "')


def test_kill_9_five_times_loses_nothing_and_counts_nothing_twice(make_setup, daemons):
    setup = make_setup()
    stream = make_stream(55_000, seed=2)
    producer = Background(publish, setup, stream, "confluent", 5000, 2.0)
    progress = kill_mid_stream(setup, daemons, 5, seed=5)
    producer.finish()
    daemon = daemons(setup.config_path)
    readings = final_readings(setup, stream)
    deadline = time.monotonic() + 60  # a clean stop of a running daemon, not of one starting
    while "assigned partitions" not in daemon.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert daemon.terminate() == 0
    assert_equals_recomputation(setup, stream, readings)
    # The kills really landed mid-stream: progress was checkpointed between them.
    total = len(stream.messages)
    assert sum(1 for p in progress if 0 < p < total) >= 3, progress


def test_two_daemons_split_the_partitions_and_survive_losing_one(make_setup, daemons):
    setup = make_setup()
    stream = make_stream(40_000, seed=3)
    first, second = daemons(setup.config_path), daemons(setup.config_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        "assigned partitions" in first.log() and "assigned partitions" in second.log()
    ):
        time.sleep(0.2)
    producer = Background(publish, setup, stream, "confluent", 4000, 0.5)
    wait_until(lambda: consumed(setup) > 0, 180, "the group's first checkpoint")
    assert consumed(setup) < len(stream.messages)  # mid-stream
    assert first.terminate() == 0  # leaves the group: its partitions move to the second
    producer.finish()
    readings = final_readings(setup, stream)
    assert second.terminate() == 0
    assert_equals_recomputation(setup, stream, readings)
    assert "revoked partitions" in second.log() or "assigned partitions" in second.log()


def _through_an_outage(make_setup, daemons, events: int, seed: int, outage) -> Daemon:
    """A live stream through one daemon, ``outage(daemon)`` once it has checkpointed;
    then every event counted, equal to the recomputation, and a clean stop."""
    setup = make_setup()
    stream = make_stream(events, seed=seed)
    daemon = daemons(setup.config_path)
    producer = Background(publish, setup, stream, "confluent", 4000, 0.8)
    wait_until(lambda: consumed(setup) > 0, 180, "the daemon's first checkpoint")
    outage(daemon)
    producer.finish()
    readings = final_readings(setup, stream)
    assert daemon.alive(), daemon.log()[-3000:]
    assert daemon.terminate() == 0
    assert_equals_recomputation(setup, stream, readings)
    return daemon


def test_redis_and_kafka_restarts_mid_stream(make_setup, daemons, redis_service, kafka_service):
    if not (redis_service.restartable and kafka_service.restartable):
        pytest.skip("Kafka/Redis come from outside the test run; they cannot be restarted here")

    def outage(daemon: Daemon) -> None:
        redis_service.stop(False)
        # Down until the daemon has met the outage (however slow a busy machine makes it).
        wait_until(lambda: "redis unavailable" in daemon.log(), 120,
                   "the daemon to meet the outage")  # fmt: skip
        redis_service.start()
        time.sleep(2)
        kafka_service.stop(False)
        time.sleep(3)
        kafka_service.start()

    daemon = _through_an_outage(make_setup, daemons, 40_000, 4, outage)
    assert "redis unavailable" in daemon.log()


def test_a_kafka_outage_past_the_session_timeout_rejoins_and_loses_nothing(
    make_setup, daemons, kafka_service
):
    """The broker stays down until the group's session has timed out and the daemon has
    given its partitions up (checkpointing them); once it is back, the daemon rejoins,
    is assigned them again and counts every event. While it waits, SIGUSR1 prints its
    threads' stacks and it goes on."""
    if not kafka_service.restartable:
        pytest.skip("Kafka comes from outside the test run; it cannot be restarted here")

    def outage(daemon: Daemon) -> None:
        kafka_service.stop(False)
        wait_until(lambda: "revoked partitions" in daemon.log(), 120, "the session to time out")
        stacks = daemon.stacks()
        assert "most recent call first" in stacks and "driftd/daemon/driver.py" in stacks, stacks
        kafka_service.start()

    daemon = _through_an_outage(make_setup, daemons, 20_000, 6, outage)
    assert daemon.log().count("assigned partitions") >= 2

def test_ratio_guard_pauses_instead_of_draining_a_broken_stream(make_setup, daemons):
    setup = make_setup(
        extra_runtime="  max_dead_letter_ratio: 0.5\n  dead_letter_window: 500\n"
        "  dead_letter_pause: 1h"
    )
    garbage = make_stream(0)
    garbage.messages = [("predictions", "credit", b"<html>502 Bad Gateway</html>")] * 20_000
    publish(setup, garbage)
    daemon = daemons(setup.config_path)
    alerts = setup.config_path.parent / "state" / "alerts.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (alerts.exists() and alerts.read_text()):
        time.sleep(0.2)
    time.sleep(2)
    drained = consumed(setup)
    assert daemon.terminate() == 0
    alert = json.loads(alerts.read_text().splitlines()[0])
    assert alert["rule"] == "dead_letter_ratio" and alert["state"] == "firing"
    assert alert["value"] == 1.0
    # One poll batch at most went through after the window filled; the rest waits in Kafka.
    assert 500 <= drained <= 500 + setup.config.runtime.batch_size, drained
    assert "pausing consumption" in daemon.log()


def test_ratio_guard_resumes_and_resolves_once_the_producers_are_fixed(
    make_setup, daemons, monkeypatch
):
    from services.receivers import WebhookReceiver

    hook = WebhookReceiver()
    monkeypatch.setenv("GUARD_HOOK_URL", f"{hook.url}/hooks")
    setup = make_setup(
        partitions=1,  # one ordered log: the bad deploy strictly before the fix
        extra_runtime="  max_dead_letter_ratio: 0.5\n  dead_letter_window: 500\n"
        "  dead_letter_pause: 2s",
        # Routed through the Redis outbox and the delivery thread of the daemon.
        extra="alerting:\n  receivers: {hook: {type: webhook, url_env: GUARD_HOOK_URL}}\n"
        "  routes: [{name: ops, receivers: [hook], match: {model: driftd}, group_wait: 0s,\n"
        "            group_interval: 1s, cooldown: 0s}]",
    )
    garbage = make_stream(0)
    garbage.messages = [("predictions", "credit", b"<html>502 Bad Gateway</html>")] * 3000
    publish(setup, garbage)  # a bad deploy ...
    stream = make_stream(6000, seed=8)
    publish(setup, stream)  # ... then the fix
    daemon = daemons(setup.config_path)
    readings = final_readings(setup, stream, timeout=120)
    assert daemon.terminate() == 0
    assert_equals_recomputation(setup, stream, readings)
    alerts = [
        json.loads(line)
        for line in (setup.config_path.parent / "state" / "alerts.jsonl").read_text().splitlines()
    ]
    guard = [a["state"] for a in alerts if a["rule"] == "dead_letter_ratio"]
    assert guard == ["firing", "resolved"]
    notified = [r.json() for r in hook.accepted()]
    hook.close()
    assert [n["status"] for n in notified] == ["firing", "resolved"]
    assert notified[0]["alerts"][0]["rule"] == "dead_letter_ratio"


def _events_by_model(daemon) -> dict[str, float]:
    port = int(re.search(r"HTTP on 127\.0\.0\.1:(\d+)", daemon.log()).group(1))
    scrape = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
    families = {f.name: f for f in text_string_to_metric_families(scrape.decode())}
    return {s.labels["model"]: s.value for s in families["driftd_events"].samples
            if s.labels["kind"] == "predictions" and s.name.endswith("_total")}  # fmt: skip


def test_with_two_daemons_each_models_totals_come_from_one_of_them(make_setup, daemons):
    """Issue 15: both daemons exported every model's totals from Redis, so a PromQL
    ``sum by (model)`` over the two counted each event twice. Each exports the models of
    the partitions it owns."""
    setup = make_setup()
    stream = make_stream(6_000, seed=5)
    first, second = daemons(setup.config_path), daemons(setup.config_path)
    publish(setup, stream)
    try:
        final_readings(setup, stream)
    except AssertionError:
        shown = subprocess.run([sys.executable, "-m", "driftd.cli", "status", "--config",
                                str(setup.config_path), "--redis"], capture_output=True, text=True)
        print("status at the failure:", shown.stdout, shown.stderr)
        raise
    want = {m: float(len(stream.predictions[m])) for m in stream.predictions}
    sums: dict[str, float] = {}

    def summed_once() -> bool:
        nonlocal sums
        sums = {}
        for daemon in (first, second):
            for model, value in _events_by_model(daemon).items():
                sums[model] = sums.get(model, 0.0) + value
        return sums == want

    wait_until(summed_once, 120, f"each model's total from one daemon: {sums} vs {want}")
    assert first.terminate() == 0 and second.terminate() == 0
