"""Harness for the runtime tests: a config with fresh topics, the daemon as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from runtime.stream import MODELS, Stream, expected_readings, write_config
from testdata import write_reference_csv

from driftd.config import load_config
from driftd.daemon.builders import redis_store
from driftd.daemon.service import ensure_topics

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Setup:
    config_path: Path
    reference: Path
    suffix: str

    @property
    def config(self):
        return load_config(self.config_path)


@pytest.fixture
def make_setup(tmp_path, kafka_service, redis_service):
    def make(
        client: str = "confluent",
        partitions: int = 4,
        extra_runtime: str = "",
        extra: str = "",
        shards: int = 1,
    ) -> Setup:
        suffix = uuid.uuid4().hex[:8]
        reference = write_reference_csv(tmp_path / "reference.csv", n=3000)
        path = write_config(
            tmp_path / f"driftd-{suffix}.yaml",
            reference,
            kafka_service.address,
            redis_service.address,
            suffix,
            client,
            partitions,
            extra_runtime,
            extra,
            shards,
        )
        ensure_topics(load_config(path), create=True)
        return Setup(path, reference, suffix)

    return make


class Daemon:
    """`driftd run` as a child process, so it can be SIGTERMed or kill -9ed."""

    def __init__(self, config_path: Path, log_path: Path, *extra: str):
        self.args = [
            sys.executable,
            "-m",
            "driftd.cli",
            "--log-level",
            "INFO",
            "run",
            "--config",
            str(config_path),
            "--quiet",
            *extra,
        ]
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> Daemon:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        return self

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self, timeout: float = 60) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stacks(self, until: str = "driftd/daemon/driver.py", timeout: float = 10) -> str:
        """The threads' stacks the live daemon prints on SIGUSR1, with the log lines
        before them: read once ``until`` (by default the driver loop's frame, on the main
        thread's stack) is among them, or after ``timeout`` with what came."""
        assert self.process is not None
        before = len(self.log())
        self.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while until not in self.log()[before:] and self.alive():
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)  # polling the log for the dump
        return f"--- daemon {self.log_path.name}, last lines and stacks ---\n{self.log()[-12000:]}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def daemons(tmp_path):
    started: list[Daemon] = []

    def start(config_path: Path, *extra: str) -> Daemon:
        daemon = Daemon(config_path, tmp_path / f"daemon-{len(started)}.log", *extra).start()
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.alive():
            print(daemon.stacks())  # shown by pytest when the test failed: where it waited
            daemon.kill()


def publish(
    setup: Setup, stream: Stream, client: str = "confluent", chunk: int = 0, pause: float = 0.0
) -> None:
    """Publish the stream as apps do: valid events through the SDK's publish_* calls,
    malformed bytes through a plain producer (a broken app that bypasses the SDK).
    With ``chunk``, pause between chunks (a live app)."""
    from driftd_sdk import Publisher

    from driftd.consumers.kafka.clients import open_producer

    config = setup.config
    publisher = Publisher.kafka(
        config.kafka.bootstrap_servers,
        client,
        config.kafka.topics,
        max_buffer=len(stream.messages),
    )
    broken = open_producer(config.kafka, "broken-app")
    topics = {"predictions": config.kafka.topics.predictions, "labels": config.kafka.topics.labels}
    for i, (kind, model, raw) in enumerate(stream.messages):
        try:
            event = json.loads(raw)
        except ValueError:
            broken.produce(topics[kind], raw, model.encode())
            continue
        if event["type"] == "prediction":
            publisher.publish_prediction(
                event["model_id"],
                event["features"],
                event["prediction"],
                score=event["score"],
                event_id=event["event_id"],
                timestamp=event["timestamp"],
                attributes=event["attributes"],
            )
        else:
            publisher.publish_label(
                event["model_id"], event["event_id"], event["label"], timestamp=event["timestamp"]
            )
        if chunk and i % chunk == chunk - 1:
            time.sleep(pause)
    assert broken.flush(60) == 0
    broken.close()
    assert publisher.flush(120)
    publisher.close()
    assert publisher.stats.dropped == 0 and publisher.stats.failed == 0


class Background(threading.Thread):
    """Run a function in a thread and re-raise its exception on join."""

    def __init__(self, target, *args):
        super().__init__(daemon=True)
        self._call = (target, args)
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self._call[0](*self._call[1])
        except BaseException as exc:
            self.error = exc

    def finish(self, timeout: float = 300) -> None:
        self.join(timeout)
        assert not self.is_alive(), "background work did not finish"
        if self.error is not None:
            raise self.error


def consumed(setup: Setup) -> int:
    """Messages whose effect is checkpointed in Redis (see :func:`stored_offsets`)."""
    return stored_offsets(setup.config)


def stored_offsets(config) -> int:
    """The sum of the next offsets stored in Redis for the topics the monitors read (the
    routed path's origin marks, "topic:partition", aside)."""
    client = redis.Redis.from_url(config.redis.url)
    total = 0
    for key in client.scan_iter(f"{config.redis.namespace}:{config.kafka.group_id}:p*:offsets"):
        total += sum(int(v) for k, v in client.hgetall(key).items() if b":" not in k)
    client.close()
    return total


def final_readings(setup: Setup, stream: Stream, timeout: float = 240) -> dict[str, dict]:
    """Wait until every model's latest readings count all its events; return them."""
    store = redis_store(setup.config)
    want = {m: (float(len(stream.predictions[m])), float(len(stream.labels[m]))) for m in MODELS}
    deadline = time.monotonic() + timeout
    got: dict[str, dict] = {}
    while time.monotonic() < deadline:
        got = {}
        for model in MODELS:
            try:
                latest = store.latest_readings(model)
            except redis.ConnectionError:
                latest = None
            if latest is not None:
                got[model] = latest[1]
        if all(
            m in got and (got[m]["events.predictions"], got[m]["events.labels"]) == want[m]
            for m in MODELS
        ):
            return got
        time.sleep(0.5)
    progress = {m: (r.get("events.predictions"), r.get("events.labels")) for m, r in got.items()}
    raise AssertionError(f"final readings never arrived: {progress} != {want}")


def assert_equals_recomputation(setup: Setup, stream: Stream, readings: dict[str, dict]) -> None:
    for model in MODELS:
        expected = expected_readings(stream, model, setup.reference)
        for name, value in expected.items():
            assert readings[model][name] == pytest.approx(value, rel=1e-9, abs=1e-12), (
                model,
                name,
            )


def kill_mid_stream(setup: Setup, start_daemon, times: int, seed: int) -> list[int]:
    """Start a daemon and kill -9 it at a random moment once it has checkpointed work of
    its own, ``times`` times; returns the checkpointed progress after each kill. (Joining
    after a kill waits out the dead member's session and a busy machine is slower still:
    a fixed delay could kill it before it did anything.)"""
    import random

    from testdata import wait_until

    rng = random.Random(seed)
    progress: list[int] = []
    for _ in range(times):
        daemon = start_daemon(setup.config_path)
        before = progress[-1] if progress else 0
        wait_until(lambda b=before: consumed(setup) > b, 180, "the daemon's own progress")
        time.sleep(rng.uniform(0.0, 1.0))
        daemon.kill()
        progress.append(consumed(setup))
    return progress
