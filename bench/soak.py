"""Soak: `driftd run` under steady load for a long time, RSS, lag and backlog over time.

    .venv/bin/python -m bench.soak --minutes 60 --rate 2000 --out soak

On demand, not in CI (CI runs a 15-second version to keep it working). A producer
publishes the bench workload (23 features, labels following) at a fixed rate; the
daemon runs as its own process; every ``--every`` seconds the daemon's RSS (from
/proc), its consumer lag (``driftd_consumer_lag`` summed, from its /metrics) and
the backlog in seconds of traffic (lag / rate) are recorded. Writes soak.csv and
soak.png (the three series over time) to ``--out`` and prints a summary table:
a healthy run has flat RSS after warm-up and a lag that returns to ~0.
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

from driftd_sdk import Publisher

from bench.services import ROOT, kafka_and_redis, service_config
from bench.workload import events, model_yaml, write_reference
from driftd.daemon.service import ensure_topics


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _lag(port: int) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(float(m) for m in re.findall(r"^driftd_consumer_lag\{[^}]*\} (\S+)", text, re.M))


def _produce(publisher: Publisher, topics, rate: float, stop: threading.Event) -> None:
    """The workload at ``rate`` events/s, in chunks with fresh event ids."""
    chunk, round_, sent, started = 2000, 0, 0, time.monotonic()
    while not stop.is_set():
        for raw in events(chunk // 2, model="soak", seed=round_, id_prefix=f"s{round_}-",
                          start=1.7e9 + round_ * chunk * 0.05):  # fmt: skip
            kind = topics.labels if raw.startswith(b'{"type":"label"') else topics.predictions
            publisher._enqueue(kind, "soak", raw)
            sent += 1
        round_ += 1
        ahead = sent / rate - (time.monotonic() - started)
        if ahead > 0:
            stop.wait(ahead)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=2000.0, help="events per second")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--out", type=Path, default=Path("soak"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with kafka_and_redis() as (bootstrap, redis_url):
        work = Path(tempfile.mkdtemp(prefix="driftd-soak-"))
        models = model_yaml("soak", write_reference(work / "reference.csv")).rstrip("\n")
        suffix = uuid.uuid4().hex[:8]
        config = service_config(work / "driftd.yaml", models, bootstrap, redis_url, "confluent",
                                f"soak-{suffix}", suffix)  # fmt: skip
        ensure_topics(config, create=True)
        log = (work / "daemon.log").open("wb")
        daemon = subprocess.Popen(
            [sys.executable, "-m", "driftd.cli", "--log-level", "INFO", "run", "--config",
             str(work / "driftd.yaml"), "--quiet"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        port = None
        while port is None:
            time.sleep(0.2)
            found = re.search(r"HTTP on 127\.0\.0\.1:(\d+)", (work / "daemon.log").read_text())
            port = int(found.group(1)) if found else None
        publisher = Publisher.kafka(bootstrap, "confluent", config.kafka.topics,
                                    max_buffer=int(args.rate * 60))  # fmt: skip
        stop = threading.Event()
        work_args = (publisher, config.kafka.topics, args.rate, stop)
        producer = threading.Thread(target=_produce, args=work_args, daemon=True)
        producer.start()
        rows = []
        started = time.monotonic()
        try:
            while time.monotonic() - started < args.minutes * 60:
                time.sleep(args.every)
                lag = _lag(port)
                rows.append((time.monotonic() - started, _rss_mb(daemon.pid), lag,
                             lag / args.rate))  # fmt: skip
        finally:
            stop.set()
            producer.join(30)
            publisher.close(30)
            daemon.terminate()
            daemon.wait(60)
    with (args.out / "soak.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["seconds", "rss_mb", "lag_messages", "backlog_seconds"])
        writer.writerows(rows)
    _chart(rows, args.out / "soak.png")
    half = rows[len(rows) // 2 :] or rows
    print(f"# soak: {args.minutes:g} min at {args.rate:,.0f} events/s, a sample every "
          f"{args.every:g} s; chart {args.out / 'soak.png'}")  # fmt: skip
    print("| series | first | max | last | max in 2nd half |")
    print("|---|---:|---:|---:|---:|")
    for index, name in ((1, "RSS (MB)"), (2, "lag (messages)"), (3, "backlog (s)")):
        values = [r[index] for r in rows]
        print(f"| {name} | {values[0]:,.1f} | {max(values):,.1f} | {values[-1]:,.1f} | "
              f"{max(r[index] for r in half):,.1f} |")  # fmt: skip


def _chart(rows: list[tuple[float, float, float, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 6), dpi=100)
    axes = figure.subplots(3, 1, sharex=True)
    minutes = [r[0] / 60 for r in rows]
    for ax, index, label in zip(axes, (1, 2, 3), ("RSS (MB)", "lag (messages)", "backlog (s)"),
                                strict=True):  # fmt: skip
        ax.plot(minutes, [r[index] for r in rows], color="#1f4e9c")
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("minutes")
    figure.tight_layout()
    figure.savefig(path)


if __name__ == "__main__":
    main()
