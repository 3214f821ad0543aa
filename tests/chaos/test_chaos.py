"""The fault scenario: one stream, with everything that goes wrong in production at once.

A producer app publishes a ~200k-event stream (three models, labels late and out of
order) through the SDK to Kafka; two `driftd run` daemons share it as a consumer
group, state in Redis; a `driftd retrain-worker` retrains one model; alerts go to a
Slack stand-in, a signed webhook and an SMTP server. Both daemons reach Redis and
Kafka through fault proxies (the broker advertises its proxy's port). During the
stream, on a fixed timeline: kill -9 of each daemon (restarted), 2 s latency to
Redis, a cut of every Kafka connection, Redis and Kafka restarts, a Slack outage
(its first requests answer 503, so the first alerts meet it), kill -9 of the worker
in the middle of a retraining run (once the worker logged that the run started).

Pass: the final metrics equal the batch recomputation (sklearn/scipy/fairlearn, rel
1e-9); every notification is delivered, to each receiver, under one idempotency key
and no alert transition under two; the champion is a complete, hash-valid version at
every moment it is checked; daemon memory stays bounded.

``DRIFTD_CHAOS_SCALE`` stretches the stream and the timeline (the long form:
``DRIFTD_CHAOS_SCALE=5 .venv/bin/pytest tests/chaos``); CI runs scale 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
import redis
import yaml
from runtime.harness import ROOT, Background, Daemon, Setup, publish
from runtime.stream import MODELS, make_stream, write_config
from services.local import LocalKafka, free_port
from services.proxy import FaultProxy
from services.receivers import SlackStandIn, SmtpServer, WebhookReceiver
from testdata import wait_until, write_reference_csv

from driftd.alerts.outbox import RedisOutbox
from driftd.daemon.paths import registry_dir
from driftd.daemon.service import ensure_topics
from driftd.retrain.registry import Registry
from driftd.retrain.tune import build_estimator

pytestmark = [pytest.mark.kafka, pytest.mark.redis, pytest.mark.slow]
SCALE = float(os.environ.get("DRIFTD_CHAOS_SCALE", "1"))
RETRAINED = MODELS[0]
SMTP_PASSWORD = "smtp-chaos-Pa55"


@pytest.fixture
def proxied_kafka(tmp_path):
    port = free_port()
    proxy = FaultProxy(port)
    kafka = LocalKafka(tmp_path / "kafka", port=port, advertised_port=proxy.port).start()
    yield kafka, proxy
    proxy.close()
    kafka.close()


@pytest.fixture
def receivers(tmp_path):
    slack, hook, smtp = (
        SlackStandIn(),
        WebhookReceiver(),
        SmtpServer(tmp_path, password=SMTP_PASSWORD),
    )
    yield slack, hook, smtp
    slack.close()
    hook.close()
    smtp.close()


def _config(tmp_path: Path, kafka_address: str, redis_url: str, smtp: SmtpServer) -> Setup:
    suffix = uuid.uuid4().hex[:8]
    reference = write_reference_csv(tmp_path / "reference.csv", n=3000)
    path = write_config(tmp_path / "driftd.yaml", reference, kafka_address, redis_url, suffix)
    data = yaml.safe_load(path.read_text())
    for model in MODELS:  # alerts that must fire once per model, whatever the chaos
        data["models"][model]["rules"] = [
            {"name": "volume", "metric": "events.predictions", "op": ">", "threshold": 5000,
             "severity": "info"},
        ]  # fmt: skip
    data["models"][RETRAINED]["retrain"] = {
        "estimator": "sklearn.linear_model.LogisticRegression",
        "params": {"max_iter": 300},
        "search": {"method": "random", "candidates": 2, "space": {"C": [0.1, 1.0]}},
        "data": {"use_reference": False},
        "gates": {"bootstrap": 100, "reference_tolerance": None},
    }
    data["alerting"] = {
        "receivers": {
            "slack": {"type": "slack", "webhook_url_env": "CHAOS_SLACK_URL"},
            "hook": {"type": "webhook", "url_env": "CHAOS_HOOK_URL",
                     "secret_env": "CHAOS_HOOK_SECRET"},
            "mail": {"type": "email", "host": "127.0.0.1", "port": smtp.port,
                     "security": "starttls", "ca_file": str(smtp.ca_file),
                     "username_env": "CHAOS_SMTP_USER", "password_env": "CHAOS_SMTP_PASSWORD",
                     "to": ["oncall@example.com"]},
        },
        "routes": [{"name": "all", "receivers": ["slack", "hook", "mail"],
                    "group_wait": "1s", "group_interval": "2s"}],
        "retry_initial": "0.2s",
        "retry_max": "2s",
        "max_attempts": 100,
    }  # fmt: skip
    path.write_text(yaml.safe_dump(data))
    return Setup(path, reference, suffix)


def _env(monkeypatch, slack: SlackStandIn, hook: WebhookReceiver) -> None:
    """The receivers' secrets, as the daemons (child processes) will inherit them."""
    for name, value in {
        "CHAOS_SLACK_URL": f"{slack.url}/webhook/T0/B0/chaos",
        "CHAOS_HOOK_URL": f"{hook.url}/hooks/driftd",
        "CHAOS_HOOK_SECRET": "whsec-chaos-0123456789",
        "CHAOS_SMTP_USER": "driftd",
        "CHAOS_SMTP_PASSWORD": SMTP_PASSWORD,
    }.items():
        monkeypatch.setenv(name, value)


def _first_champion(setup: Setup) -> None:
    """A champion trained on the reference, so retraining has one to beat."""
    config = setup.config
    spec = config.models[RETRAINED]
    frame = pd.read_csv(setup.reference)
    model = build_estimator(spec, spec.retrain).fit(frame[["x", "color"]], frame["label"])
    registry = Registry(registry_dir(config))
    registry.promote(RETRAINED, registry.register(RETRAINED, model, {"run_id": "initial"}))


class Watch(threading.Thread):
    """Every half second: the champion loads (complete, hash valid); daemons' RSS."""

    def __init__(self, setup: Setup, daemons: list[Daemon]):
        super().__init__(daemon=True)
        self.registry = Registry(registry_dir(setup.config))
        self.daemons = daemons
        self.errors: list[str] = []
        self.checks = 0
        self.max_rss_mb = 0.0
        self.stop = threading.Event()
        self.start()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            try:
                version = self.registry.champion(RETRAINED)
                self.registry.load(RETRAINED, version)  # type: ignore[arg-type]
                self.checks += 1
            except Exception as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            for daemon in list(self.daemons):
                if daemon.alive():
                    self.max_rss_mb = max(self.max_rss_mb, _rss_mb(daemon.process.pid))


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _worker(setup: Setup, log: Path) -> subprocess.Popen:
    with log.open("ab") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "driftd.cli", "--log-level", "INFO", "retrain-worker",
             "--config", str(setup.config_path), "--service"],
            cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _request_retraining(setup: Setup) -> None:
    subprocess.run(
        [sys.executable, "-m", "driftd.cli", "retrain", RETRAINED, "--config",
         str(setup.config_path), "--reason", "chaos"], cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip


def test_everything_at_once(tmp_path, redis_service, proxied_kafka, receivers, monkeypatch,
                            artifacts):  # fmt: skip
    if not redis_service.restartable:
        pytest.skip("Redis comes from outside the test run; it cannot be restarted here")
    kafka, kafka_proxy = proxied_kafka
    slack, hook, smtp = receivers
    redis_port = int(redis_service.address.rsplit(":", 1)[1].split("/")[0])
    redis_proxy = FaultProxy(redis_port)
    _env(monkeypatch, slack, hook)
    setup = _config(tmp_path, kafka.bootstrap, f"redis://{redis_proxy.address}/0", smtp)
    ensure_topics(setup.config, create=True)
    _first_champion(setup)
    began = time.monotonic()
    stream = make_stream(int(105_000 * SCALE), seed=11)
    step = 6.0 * SCALE  # seconds between faults

    started: list[Daemon] = []

    def daemon() -> Daemon:
        started.append(Daemon(setup.config_path, tmp_path / f"daemon-{len(started)}.log").start())
        return started[-1]

    def owns_partitions(d: Daemon) -> bool:
        return "assigned partitions" in d.log()

    first, second = daemon(), daemon()
    worker_log = tmp_path / "worker.log"
    worker = _worker(setup, worker_log)
    watch = Watch(setup, started)
    wait_until(lambda: owns_partitions(first) and owns_partitions(second), 90, "two members")
    # The Slack outage covers the first alerts, however late they come: its first three
    # requests answer 503 (counted, not timed: a busy machine cannot make it miss them).
    slack.script = ["503", "503", "503"]
    faults: list[str] = ["Slack answers 503"]
    producer = Background(publish, setup, stream, "confluent", 10_000, 3.0 * SCALE)
    try:
        time.sleep(step / 2)
        first.kill()
        faults.append("kill -9 daemon 1")
        first = daemon()
        time.sleep(step)
        redis_proxy.latency = kafka_proxy.latency = 2.0
        faults.append("2 s latency to Redis and Kafka")
        time.sleep(step)
        redis_proxy.latency = kafka_proxy.latency = 0.0
        kafka_proxy.cut(step / 2)
        redis_proxy.cut(step / 2)
        faults.append("Kafka and Redis connections cut")
        time.sleep(step)
        redis_service.stop(False)
        time.sleep(2)
        redis_service.start()
        faults.append("Redis restarted")
        _request_retraining(setup)
        wait_until(lambda: f"retraining {RETRAINED}" in worker_log.read_text(), 60,
                   "a retraining run")  # fmt: skip
        time.sleep(0.3)
        worker.kill()
        worker.wait()
        faults.append("kill -9 worker mid-run")
        worker = _worker(setup, worker_log)
        time.sleep(step)
        kafka.stop(False)
        time.sleep(2)
        kafka.start()
        faults.append("Kafka restarted")
        time.sleep(step / 2)
        second.kill()
        faults.append("kill -9 daemon 2")
        second = daemon()
        asked = time.time()
        _request_retraining(setup)  # one run that completes, after all that
        producer.finish(600)

        from runtime.harness import assert_equals_recomputation, final_readings

        readings = final_readings(setup, stream, timeout=300)
        assert_equals_recomputation(setup, stream, readings)

        client = redis.Redis.from_url(redis_service.address)
        outbox = RedisOutbox(client, setup.config.redis.namespace)
        # Leases of killed daemons run out after 60 s; then the survivors deliver.
        wait_until(lambda: all(i.status != "pending" for i in outbox.items()), 180,
                   "an empty outbox")  # fmt: skip
        registry = Registry(registry_dir(setup.config))
        wait_until(lambda: any(r["finished_at"] > asked for r in registry.runs(RETRAINED)), 120,
              "the retraining run asked for after the faults")  # fmt: skip
    finally:
        watch.stop.set()
        for d in started:
            if d.alive():
                d.terminate(60)
        worker.terminate()
        worker.wait(30)
        redis_proxy.close()

    items = outbox.items()
    assert items and all(i.status == "delivered" for i in items), [
        (i.notification.receiver, i.status, i.last_error) for i in items if i.status != "delivered"
    ]
    sent = {r: {i.notification.id for i in items if i.notification.receiver == r}
            for r in ("slack", "hook", "mail")}  # fmt: skip
    accepted = {
        "slack": {r.idempotency_key for r in slack.accepted()},
        "hook": {r.idempotency_key for r in hook.accepted()},
        "mail": {m["X-Driftd-Idempotency-Key"] for m in smtp.messages},
    }
    for receiver in sent:
        assert sent[receiver] == accepted[receiver], receiver  # none lost, none invented
    # No notification went out twice under different keys (e.g. a re-fire after a kill):
    # within a group, each notification tells something new (repeat_interval is 4 h).
    told: dict[tuple[str, frozenset], set[str]] = {}
    for request in hook.accepted():
        body = request.json()
        content = frozenset((a["key"], a["state"], a["escalation"]) for a in body["alerts"])
        told.setdefault((json.dumps(body["group"], sort_keys=True), content), set()).add(
            request.idempotency_key
        )
    firing = {key for (_, content) in told for key, state, _ in content if state == "firing"}
    assert len(firing) >= len(MODELS)  # at least the volume rule of every model
    assert all(len(keys) == 1 for keys in told.values()), told
    assert [r.answered for r in slack.requests[:3]] == [503] * 3  # the outage was met
    # The champion was valid at every check, and retraining finished after the kill.
    assert not watch.errors and watch.checks > 20, watch.errors[:3]
    runs = registry.runs(RETRAINED)
    assert runs[-1]["finished_at"] > asked and runs[-1]["status"] in {"promoted", "rejected"}
    assert watch.max_rss_mb < 1024, watch.max_rss_mb
    assert kafka_proxy.cuts == redis_proxy.cuts == 1 and len(faults) == 8, faults
    (artifacts / "chaos-result.json").write_text(json.dumps({
        "faults": faults, "champion_checks": watch.checks, "max_rss_mb": watch.max_rss_mb,
        "notifications": {r: len(v) for r, v in sent.items()}, "messages": len(stream.messages),
        "seconds": round(time.monotonic() - began, 1), "scale": SCALE,
    }, indent=2))  # fmt: skip
