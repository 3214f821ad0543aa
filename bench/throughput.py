"""Embedded throughput on one core: decode only, detectors only, the full pipeline, the
``driftd replay`` command; with the bench workload's 5k-row reference and the default
10k-row sample.

    .venv/bin/python -m bench.throughput --events 1000000

One binary model with 20 numeric + 3 categorical features and one sensitive
attribute (bench/workload.py); half the events are predictions, half labels that
follow them after up to 200 events; a covariate shift and a concept change halfway.
In this one process, on the same messages:

- decode: ``EventDecoder.decode`` of every message (the baseline: parsing only);
- detectors: decoded events routed to the monitor (join, every default detector,
  evaluations and rules), no decoding;
- no detectors: the full pipeline with each monitor's detector list empty (decode, route,
  encode, join, queues, ticks, rules, checkpoints): the per-event Python floor that no
  detector speed-up can go below;
- full: the pipeline ``driftd replay`` runs (decode + detectors + SQLite checkpoints
  every 10 batches), with the default ``evaluate_every`` (500) and with 5000, to show
  what the evaluation ticks cost;
- ``driftd replay``: the command itself on the same events as a JSONL file, default
  alerting, as its own process (start-up, imports and the summary included), timed by
  its CPU time (and wall time, for a quiet machine).

The tick's cost grows with the reference (each numeric feature's window is compared
with the whole sorted reference), so the model runs with both reference sizes. The
last table states each goal of issue 17 and whether it is met.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.workload import events, model_yaml, write_reference
from driftd.config import load_config
from driftd.daemon.embedded import build_pipeline, run_messages
from driftd.daemon.gctune import tune_gc
from driftd.daemon.pipeline import Pipeline
from driftd.detectors.monitor import ModelMonitor
from driftd.events import EventDecoder

REFERENCE_ROWS = (5000, 10_000)  # the bench workload's, the default sample size


def config_file(work: Path, rows: int, evaluate_every: int) -> Path:
    reference = work / f"reference-{rows}.csv"
    if not reference.exists():
        write_reference(reference, n=rows)
    path = work / f"driftd-{rows}-{evaluate_every}.yaml"
    path.write_text(
        "models:\n" + model_yaml("bench", reference)
        + f"runtime:\n  evaluate_every: {evaluate_every}\n"
        f"  state_dir: {work / f'state-{rows}-{evaluate_every}'}\nnotifiers: []\n"
    )  # fmt: skip
    return path


def without_detectors(pipeline: Pipeline) -> Pipeline:
    """The pipeline with every monitor rebuilt with no detectors: what is left is the
    path each event takes whatever the detectors cost."""
    for key, monitor in pipeline.monitors.items():
        pipeline.monitors[key] = ModelMonitor(monitor.context, detectors=[],
                                              flush_at=monitor.flush_at)  # fmt: skip
    return pipeline


def replay_command(config: Path, stream: Path) -> tuple[float, float]:
    """CPU and wall seconds of ``driftd replay`` as a user runs it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "driftd.cli", "replay", "--config", str(config),
                    "--fresh", "--quiet", str(stream)], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core (children too)
    work = Path(tempfile.mkdtemp(prefix="driftd-throughput-"))
    tune_gc()  # as `driftd replay` and `driftd run` do
    messages = events(args.events // 2)
    n = len(messages)
    stream = work / "events.jsonl"
    stream.write_bytes(b"\n".join(messages) + b"\n")
    batch = [(m, "bench", None) for m in messages]
    gc.freeze()  # the 1M input tuples are the bench's, not the pipeline's: out of GC's sight
    rows: list[tuple[str, float]] = []

    decoder = EventDecoder({"bench"}, 1 << 20)
    started = time.perf_counter()
    decoded = [(decoder.decode(raw, src, off), raw, src, off) for raw, src, off in batch]
    decode_s = time.perf_counter() - started
    rows.append(("decode only (baseline)", decode_s))

    config = load_config(config_file(work, REFERENCE_ROWS[-1], 500))
    pipeline = without_detectors(build_pipeline(config, fresh=True, quiet=True))
    started = time.perf_counter()
    run_messages(pipeline, batch)
    floor_s = time.perf_counter() - started
    rows.append(("no detectors: decode, route, encode, join, ticks, checkpoints", floor_s))
    pipeline.store.close()

    replay_rates: dict[int, tuple[float, float]] = {}
    for reference_rows in REFERENCE_ROWS:
        ref = f"{reference_rows // 1000}k-row reference"
        pipeline = build_pipeline(load_config(config_file(work, reference_rows, 500)),
                                  fresh=True, quiet=True)  # fmt: skip
        started = time.perf_counter()
        pipeline.route(decoded)
        pipeline.evaluate_all()
        rows.append((f"detectors only (join, detectors, rules), {ref}",
                     time.perf_counter() - started))  # fmt: skip
        for every in (500, 5000):
            config = load_config(config_file(work, reference_rows, every))
            pipeline = build_pipeline(config, fresh=True, quiet=True)
            started = time.perf_counter()
            run_messages(pipeline, batch)
            rows.append((f"full pipeline, evaluate_every {every}, {ref}",
                         time.perf_counter() - started))  # fmt: skip
            pipeline.store.close()
        cpu, wall = replay_command(config_file(work, reference_rows, 500), stream)
        replay_rates[reference_rows] = (n / cpu, n / wall)
        rows.append((f"`driftd replay` command (CPU time), {ref}", cpu))
        rows.append((f"`driftd replay` command (wall time), {ref}", wall))
    del decoded

    print(f"# embedded throughput, {n:,} events (23 features), one core")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| stage | seconds | events/s | vs decode rate |")
    print("|---|---:|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} | {n / seconds:,.0f} | {decode_s / seconds:.2f}x |")
    print()
    decode_rate = n / decode_s
    print("| goal (issue 17) | figure | goal | met |")
    print("|---|---:|---:|---|")
    for reference_rows, (cpu_rate, _) in replay_rates.items():
        ref = f"{reference_rows // 1000}k reference"
        ratio = cpu_rate / decode_rate
        print(f"| `driftd replay` vs decode rate, {ref} | {ratio:.2f}x | 0.5x | "
              f"{'yes' if ratio >= 0.5 else f'no ({0.5 / ratio:.1f}x short)'} |")  # fmt: skip
        short = 100_000 / cpu_rate
        print(f"| `driftd replay` events/s (CPU), {ref} | {cpu_rate:,.0f} | 100,000 | "
              f"{'yes' if short <= 1 else f'no ({short:.1f}x short)'} |")  # fmt: skip
    floor = decode_s / floor_s
    print(f"| the pipeline without detectors vs decode rate | {floor:.2f}x | 0.5x | "
          f"{'yes' if floor >= 0.5 else f'no ({0.5 / floor:.1f}x short)'}: the floor |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
