"""`driftd run` with each engine on the same backlog: the default driver loop vs faust.

    .venv/bin/python -m bench.engines --predictions 110000

Publishes one stream (three binary models, predictions then delayed labels) to fresh
topics, then starts `driftd run --engine E` as a process, once per engine, each in its
own consumer group over the same backlog, and times it from its first checkpointed
message to its last (the sum of the next offsets it stored in Redis). Both engines
include the routing stage. The ratio faust / default, measured in the same run, is the
figure to compare (goal: at least 0.5). A last row is Faust alone: an agent that only
takes and acknowledges the same events (``noack_take``, as the engine does), no driftd
work at all, the ceiling of any engine built on Faust's streams.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from runtime.harness import stored_offsets  # noqa: E402
from runtime.stream import make_stream  # noqa: E402

from bench.kafka_throughput import three_models  # noqa: E402
from bench.services import kafka_and_redis, publish_backlog, service_config  # noqa: E402
from driftd.daemon.service import ensure_topics  # noqa: E402


def engine_rate(config, path: Path, engine: str, total: int, timeout: float = 1800) -> float:
    process = subprocess.Popen(
        [sys.executable, "-m", "driftd.cli", "run", "--config", str(path), "--quiet",
         "--engine", engine], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    spawned = time.perf_counter()
    try:
        deadline = time.monotonic() + timeout
        while stored_offsets(config) == 0:
            assert process.poll() is None and time.monotonic() < deadline, "engine stopped"
            time.sleep(0.05)
        started, first = time.perf_counter(), stored_offsets(config)
        while (done := stored_offsets(config)) < total:
            assert process.poll() is None and time.monotonic() < deadline, "engine stopped"
            time.sleep(0.05)
        if done == first:  # all in the first checkpoint (a tiny backlog): from the spawn
            return done / (time.perf_counter() - spawned)
        return (done - first) / (time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait(120)


def faust_alone(bootstrap: str, topics: list[str], total: int) -> None:
    """(In a child process) Faust's own rate over ``topics``: take, acknowledge, count."""
    import logging

    import faust

    app = faust.App(f"faust-alone-{uuid.uuid4().hex[:6]}", broker=f"kafka://{bootstrap}",
                    store="memory://", value_serializer="raw", key_serializer="raw",
                    topic_allow_declare=False, topic_disable_leader=True, web_enabled=False,
                    consumer_auto_offset_reset="earliest", stream_wait_empty=False)  # fmt: skip
    seen = {"n": 0, "since": 0.0}

    async def count(stream) -> None:
        async for events in stream.noack_take(2000, within=1.0):
            seen["since"] = seen["since"] or time.perf_counter()
            for event in events:
                await stream.ack(event)
            seen["n"] += len(events)
            if seen["n"] >= total:
                print(f"RATE {seen['n'] / (time.perf_counter() - seen['since'])}", flush=True)
                os._exit(0)

    app.agent(app.topic(*topics, value_serializer="raw", key_serializer="raw"),
              name="count")(count)  # fmt: skip
    faust.Worker(app, loglevel=logging.WARNING, quiet=True).execute_from_commandline()


def faust_alone_rate(bootstrap: str, topics: list[str], total: int) -> float:
    done = subprocess.run([sys.executable, "-m", "bench.engines", "--faust-alone", bootstrap,
                           ",".join(topics), str(total)], cwd=ROOT, capture_output=True,
                          text=True, timeout=1800)  # fmt: skip
    # Faust redirects print() into its log (stderr) and writes terminal codes to stdout.
    rates = re.findall(r"RATE ([0-9.]+)", done.stdout + done.stderr)
    assert rates, done.stdout[-2000:] + done.stderr[-2000:]
    return float(rates[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictions", type=int, default=110_000)
    parser.add_argument("--faust-alone", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.faust_alone:
        bootstrap, topics, total = args.faust_alone
        faust_alone(bootstrap, topics.split(","), int(total))
        return
    with kafka_and_redis() as (bootstrap, redis_url):
        work = Path(tempfile.mkdtemp(prefix="driftd-bench-"))
        models = three_models(work)
        suffix = uuid.uuid4().hex[:8]

        def config_for(engine: str):
            path = work / f"{engine}.yaml"
            config = service_config(path, models, bootstrap, redis_url, "confluent",
                                    f"{engine}-{suffix}", suffix)  # fmt: skip
            return config, path

        base, _ = config_for("publish")
        ensure_topics(base, create=True)
        stream = make_stream(args.predictions, seed=0)
        total = len(stream.messages)
        publish_backlog(base, stream.messages)
        print(f"# driftd run per engine, the same backlog of {total} events (3 partitions)")
        print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}")  # fmt: skip
        print("| engine | events/s (checkpointed) | vs default |")
        print("|---|---:|---:|")
        rates = {}
        for engine in ("kafka", "faust"):
            config, path = config_for(engine)
            rates[engine] = engine_rate(config, path, engine, total)
            name = "default (driver loop)" if engine == "kafka" else "faust"
            print(f"| {name} | {rates[engine]:,.0f} | {rates[engine] / rates['kafka']:.2f}x |",
                  flush=True)  # fmt: skip
        topics = base.kafka.topics
        alone = faust_alone_rate(bootstrap, [topics.predictions, topics.labels], total)
        print(f"| Faust alone (take + ack, no driftd work) | {alone:,.0f} "
              f"| {alone / rates['kafka']:.2f}x |")


if __name__ == "__main__":
    main()
