"""Embedded throughput on one core: decode only, detectors only, the full pipeline.

    .venv/bin/python -m bench.throughput --events 1000000

One binary model with 20 numeric + 3 categorical features and one sensitive
attribute (bench/workload.py); half the events are predictions, half labels that
follow them after up to 200 events; a covariate shift and a concept change halfway.
In this one process, on the same messages:

- decode: ``EventDecoder.decode`` of every message (the baseline: parsing only);
- detectors: decoded events routed to the monitor (join, every default detector,
  evaluations and rules), no decoding;
- full: ``driftd replay``'s path (decode + detectors + SQLite checkpoints every 10
  batches), with the default ``evaluate_every`` (500) and with 5000, to show what the
  evaluation ticks cost.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from bench.workload import events, model_yaml, write_reference
from driftd.config import load_config
from driftd.daemon.embedded import build_pipeline, run_messages
from driftd.daemon.gctune import tune_gc
from driftd.events import EventDecoder


def config(work: Path, evaluate_every: int):
    reference = work / "reference.csv"
    if not reference.exists():
        write_reference(reference)
    path = work / f"driftd-{evaluate_every}.yaml"
    path.write_text(
        "models:\n" + model_yaml("bench", reference)
        + f"runtime:\n  evaluate_every: {evaluate_every}\n  state_dir: {work / str(evaluate_every)}"
        "\nnotifiers: []\n"
    )  # fmt: skip
    return load_config(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    work = Path(tempfile.mkdtemp(prefix="driftd-throughput-"))
    tune_gc()  # as `driftd replay` and `driftd run` do
    messages = events(args.events // 2)
    n = len(messages)
    batch = [(m, "bench", None) for m in messages]
    gc.freeze()  # the 1M input tuples are the bench's, not the pipeline's: out of GC's sight
    rows = []

    decoder = EventDecoder({"bench"}, 1 << 20)
    started = time.perf_counter()
    decoded = [(decoder.decode(raw, src, off), raw, src, off) for raw, src, off in batch]
    decode_s = time.perf_counter() - started
    rows.append(("decode only (baseline)", decode_s))

    pipeline = build_pipeline(config(work, 500), fresh=True, quiet=True)
    started = time.perf_counter()
    pipeline.route(decoded)
    pipeline.evaluate_all()
    rows.append(("detectors only (join, detectors, rules; evaluate_every 500)",
                 time.perf_counter() - started))  # fmt: skip
    del decoded

    for every in (500, 5000):
        pipeline = build_pipeline(config(work, every), fresh=True, quiet=True)
        started = time.perf_counter()
        run_messages(pipeline, batch)
        rows.append((f"full pipeline, evaluate_every {every}", time.perf_counter() - started))
        pipeline.store.close()

    print(f"# embedded throughput, {n:,} events (23 features), one core")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| stage | seconds | events/s | time vs decode |")
    print("|---|---:|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} | {n / seconds:,.0f} | {seconds / decode_s:.1f}x |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
