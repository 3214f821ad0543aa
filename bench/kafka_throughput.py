"""`driftd run` throughput on real Kafka against the raw consume rate of the same client.

    .venv/bin/python -m bench.kafka_throughput --predictions 110000

Publishes one stream (predictions and, later, labels for three binary models) to
fresh topics, then in this one process, for each client (confluent-kafka,
kafka-python): (1) a raw consume loop that only counts messages, and (2) the
daemon's runtime (decode, join, every default detector, rules, Redis
checkpoints) over the same topics, from the first record to the last. Ratios
against the raw rate of the same client are the figures to compare; absolute
rates drift with the machine's load. Kafka and Redis come from KAFKA_BOOTSTRAP /
REDIS_URL or are started locally by tests/services.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from runtime.stream import make_stream  # noqa: E402
from testdata import write_reference_csv  # noqa: E402

from bench.services import kafka_and_redis, service_config  # noqa: E402
from driftd.consumers.kafka.clients import open_consumer  # noqa: E402
from driftd.daemon.service import build_kafka_runtime, ensure_topics  # noqa: E402
from driftd.sdk import Publisher  # noqa: E402

MODEL = """  {name}:
    task: binary
    features: {{x: numeric, color: categorical}}
    reference: {reference}
    sensitive_attributes: [sex]"""


class _FromStart:
    def assigned(self, partitions):
        return dict.fromkeys(partitions)

    def revoked(self, partitions):
        pass


def raw_rate(config, total: int) -> float:
    consumer = open_consumer(
        config.kafka.__class__(
            bootstrap_servers=config.kafka.bootstrap_servers,
            client=config.kafka.client,
            group_id=f"raw-{uuid.uuid4().hex[:6]}",
        )
    )
    topics = config.kafka.topics
    consumer.subscribe([topics.predictions, topics.labels], _FromStart())
    seen, started = 0, None
    while seen < total:
        records = consumer.poll(5000, 1.0)
        if records and started is None:
            started = time.perf_counter()
        seen += len(records)
    elapsed = time.perf_counter() - started
    consumer.close()
    return seen / elapsed


def driftd_rate(config, total: int) -> float:
    runtime = build_kafka_runtime(config, quiet=True)
    thread = threading.Thread(target=runtime.run, daemon=True)
    thread.start()
    while runtime.records_seen == 0:
        time.sleep(0.001)
    started = time.perf_counter()
    first = runtime.records_seen
    while runtime.records_seen < total:
        time.sleep(0.001)
    elapsed = time.perf_counter() - started
    runtime.stop()
    thread.join(60)
    return (total - first) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictions", type=int, default=110_000)
    args = parser.parse_args()
    with kafka_and_redis() as (bootstrap, redis_url):
        work = Path(tempfile.mkdtemp(prefix="driftd-bench-"))
        reference = write_reference_csv(work / "reference.csv", n=5000)
        suffix = uuid.uuid4().hex[:8]
        models = "\n".join(
            MODEL.format(name=m, reference=reference) for m in ("credit", "fraud", "churn")
        )

        def config_for(client: str):
            return service_config(work / f"{client}.yaml", models, bootstrap, redis_url,
                                  client, f"{client}-{suffix}", suffix)  # fmt: skip

        base = config_for("confluent")
        ensure_topics(base, create=True)
        stream = make_stream(args.predictions, seed=0)
        total = len(stream.messages)
        publisher = Publisher.kafka(bootstrap, "confluent", base.kafka.topics, max_buffer=total)
        topic = {"predictions": base.kafka.topics.predictions, "labels": base.kafka.topics.labels}
        for kind, model, raw in stream.messages:
            publisher._enqueue(topic[kind], model, raw)
        publisher.close(120)
        print(f"# driftd run vs raw consume, {total} events on 2 topics x 3 partitions")
        print(
            f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}"
        )
        print("| client | raw consume (msg/s) | driftd run (events/s) | driftd / raw |")
        print("|---|---:|---:|---:|")
        for client in ("confluent", "kafka-python"):
            config = config_for(client)
            raw = raw_rate(config, total)
            ours = driftd_rate(config, total)
            print(f"| {client} | {raw:,.0f} | {ours:,.0f} | {ours / raw:.1%} |", flush=True)


if __name__ == "__main__":
    main()
