"""`driftd run` throughput on real Kafka against the raw consume rate of the same client.

    .venv/bin/python -m bench.kafka_throughput --predictions 110000

Publishes one stream (predictions and, later, labels for three binary models) to
fresh topics, then in this one process, for each client (confluent-kafka,
kafka-python): (1) a raw consume loop that only counts messages, and (2) the
daemon's runtime (decode, join, every default detector, rules, Redis
checkpoints) over the same topics, from the first record to the last: with the
routing stage (the default, ``kafka.repartition``) and, for confluent, without
it. Ratios against the raw rate of the same client are the figures to compare;
absolute rates drift with the machine's load. Then the routing hop's cost: the
bytes it writes to Kafka per input byte, and its latency on a live trickle
(the repartition message's broker timestamp minus the input message's).
Kafka and Redis come from KAFKA_BOOTSTRAP / REDIS_URL or are started locally
by tests/services.
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

from bench.services import kafka_and_redis, publish_backlog, service_config  # noqa: E402
from driftd.config import load_config  # noqa: E402
from driftd.consumers.kafka.clients import open_consumer  # noqa: E402
from driftd.consumers.router import start_router  # noqa: E402
from driftd.daemon.service import build_kafka_runtime, build_router, ensure_topics  # noqa: E402

MODEL = """  {name}:
    task: binary
    features: {{x: numeric, color: categorical}}
    reference: {reference}
    sensitive_attributes: [sex]"""


def three_models(work: Path) -> str:
    """The models section of the stream's three binary models, their reference in work."""
    reference = write_reference_csv(work / "reference.csv", n=5000)
    return "\n".join(MODEL.format(name=m, reference=reference)
                     for m in ("credit", "fraud", "churn"))  # fmt: skip


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
    """Events/s of `driftd run`'s stages (router, when on, and monitors) in this process,
    from the first routed-or-consumed record to the last monitored one."""
    counts = ensure_topics(config, create=False)
    stopping = threading.Event()
    router = build_router(config, counts, stopping)
    runtime = build_kafka_runtime(config, quiet=True, counts=counts)
    threads = [threading.Thread(target=runtime.run, daemon=True)]
    if router is not None:
        threads.append(start_router(router))
    threads[0].start()
    while runtime.records_seen == 0 and (router is None or router.routed == 0):
        time.sleep(0.001)
    started = time.perf_counter()
    while runtime.records_seen < total:
        time.sleep(0.001)
    elapsed = time.perf_counter() - started
    runtime.stop()
    stopping.set()
    for thread in threads:
        thread.join(60)
    return total / elapsed


def routing_cost(config, stream, rate: float = 500.0, n: int = 3000) -> tuple[float, list[float]]:
    """(bytes written by the router per input byte, hop latencies in ms) for a live
    trickle of ``n`` messages at ``rate``/s through a running, caught-up router."""
    from confluent_kafka import Consumer, Producer

    from driftd.consumers.routing import destination, origin_header

    counts = ensure_topics(config, create=False)
    stopping = threading.Event()
    router = build_router(config, counts, stopping)
    assert router is not None
    thread = start_router(router)
    topics = config.kafka.topics
    kind_topic = {"predictions": topics.predictions, "labels": topics.labels}
    producer = Producer({"bootstrap.servers": config.kafka.bootstrap_servers, "linger.ms": 0})
    while router.busy():  # joined and caught up: what follows is the live part
        time.sleep(0.05)
    stamps: dict[str, int] = {}  # input position -> its broker timestamp (ms)

    def delivered(error, message) -> None:
        if error is None:
            origin = f"{message.topic()}:{message.partition()}:{message.offset()}"
            stamps[origin] = message.timestamp()[1]

    for kind, model, raw in stream.messages[:n]:
        producer.produce(kind_topic[kind], raw, model.encode(), on_delivery=delivered)
        producer.poll(0)
        time.sleep(1.0 / rate)
    producer.flush(30)
    consumer = Consumer({"bootstrap.servers": config.kafka.bootstrap_servers,
                         "group.id": f"hop-{uuid.uuid4().hex[:6]}",
                         "auto.offset.reset": "earliest"})  # fmt: skip
    consumer.subscribe(list(router.routes.values()))
    latencies: list[float] = []
    deadline = time.monotonic() + 120
    while len(latencies) < len(stamps) and time.monotonic() < deadline:
        for m in consumer.consume(5000, 1.0):
            if m.error():
                continue
            origin = dict(m.headers() or []).get("driftd.origin", b"").decode()
            if origin in stamps:
                latencies.append(m.timestamp()[1] - stamps[origin])
    consumer.close()
    stopping.set()
    thread.join(30)
    in_bytes = sum(len(raw) for _, _, raw in stream.messages)
    out_bytes = 0
    for kind, _, raw in stream.messages:
        model, _ = destination(raw, 3)
        name, value = origin_header(kind_topic[kind], 0, 10**6)
        out_bytes += len(raw) + len(model or "") + len(name) + len(value)
    return out_bytes / in_bytes, sorted(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictions", type=int, default=110_000)
    args = parser.parse_args()
    with kafka_and_redis() as (bootstrap, redis_url):
        work = Path(tempfile.mkdtemp(prefix="driftd-bench-"))
        models = three_models(work)
        suffix = uuid.uuid4().hex[:8]

        def config_for(client: str, repartition: bool = True):
            name = f"{client}-{'routed' if repartition else 'direct'}"
            path = work / f"{name}.yaml"
            service_config(path, models, bootstrap, redis_url, client, f"{name}-{suffix}", suffix)
            if not repartition:
                path.write_text(path.read_text().replace("  partitions: 3\n",
                                                         "  partitions: 3\n  repartition: false\n"))
            return load_config(path)

        base = config_for("confluent")
        ensure_topics(base, create=True)
        stream = make_stream(args.predictions, seed=0)
        total = len(stream.messages)
        publish_backlog(base, stream.messages)
        print(f"# driftd run vs raw consume, {total} events on 2 topics x 3 partitions")
        print(
            f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}"
        )
        print("| client | routing stage | raw consume (msg/s) | driftd run (events/s) "
              "| driftd / raw |")
        print("|---|---|---:|---:|---:|")
        for client, repartition in (("confluent", True), ("confluent", False),
                                    ("kafka-python", True)):  # fmt: skip
            config = config_for(client, repartition)
            raw = raw_rate(config, total)
            ours = driftd_rate(config, total)
            stage = "on (default)" if repartition else "off"
            print(f"| {client} | {stage} | {raw:,.0f} | {ours:,.0f} | {ours / raw:.1%} |",
                  flush=True)  # fmt: skip
        ratio, hops = routing_cost(config_for("confluent", True), stream)
        pct = [hops[int(q * (len(hops) - 1))] for q in (0.5, 0.95, 0.99)]
        print(f"# routing hop: {ratio:.3f} bytes written per input byte (payload, key and "
              f"origin header; Kafka framing aside); latency over {len(hops)} live messages "
              f"at 500/s: p50 {pct[0]:.0f} ms, p95 {pct[1]:.0f} ms, p99 {pct[2]:.0f} ms")


if __name__ == "__main__":
    main()
