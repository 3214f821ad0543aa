"""Memory over a long stream: RSS after 1M and 10M events, 10 models x 50 features.

    .venv/bin/python -m bench.memory --events 10000000

The embedded pipeline (SQLite checkpoints, every default detector) consumes chunks
of the bench workload (bench/workload.py, with 27 extra numeric features) for ten
models in turn, each chunk with fresh event ids and later timestamps. State is
bounded by the window sizes and ``join.max_pending``, so RSS should level off once
the windows are full: the figure to read is RSS at the end against RSS at 1M.

Per monitored feature: (RSS - RSS after the imports, before any model) / 500, what
each further feature costs. At the end, the size of one model's state snapshot (the
JSON a checkpoint writes) and the time of a checkpoint of one changed model (what the
runtime writes after a batch of one model's events) and of all ten.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import tempfile
import time
from pathlib import Path

import msgspec

from bench.workload import events, model_yaml, write_reference
from driftd.config import load_config
from driftd.daemon.embedded import build_pipeline, run_messages
from driftd.daemon.gctune import tune_gc

MODELS = 10
CHUNK = 20_000  # predictions per model per round (2 x as many events)


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--report-every", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="driftd-memory-"))
    reference = write_reference(work / "reference.csv", extra=27)
    names = [f"m{i}" for i in range(MODELS)]
    path = work / "driftd.yaml"
    path.write_text("models:\n" + "".join(model_yaml(n, reference, 50) for n in names)
                    + f"runtime:\n  state_dir: {work / 'state'}\nnotifiers: []\n")  # fmt: skip
    config = load_config(path)
    gc.collect()
    baseline = rss_mb()  # the interpreter and the libraries, no model yet
    pipeline = build_pipeline(config, fresh=True, quiet=True)
    for name in names:
        pipeline.monitor(name)
    features = MODELS * 50
    tune_gc()  # as `driftd replay` and `driftd run` do
    chunk = min(CHUNK, max(args.events // (2 * MODELS), 100))
    print(f"# RSS over the stream, {MODELS} models x 50 features, {args.events:,} events")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    gc.collect()
    built = rss_mb()
    print(f"# RSS after imports {baseline:.0f} MB; with the 10 models built {built:.0f} MB "
          f"({(built - baseline) * 1024 / features:.0f} KB per feature)")  # fmt: skip
    print("| events | RSS (MB) | per feature (KB) | vs first report | events/s so far |")
    print("|---:|---:|---:|---:|---:|")
    done, next_report, first, started, round_ = 0, args.report_every, None, time.perf_counter(), 0
    generating = 0.0
    while done < args.events:
        for name in names:
            t = time.perf_counter()
            block = events(chunk, model=name, seed=round_, id_prefix=f"r{round_}-",
                           start=1.7e9 + round_ * chunk * 0.05, extra=27)  # fmt: skip
            generating += time.perf_counter() - t
            run_messages(pipeline, [(m, name, None) for m in block])
            done += len(block)
            if done >= next_report:
                gc.collect()
                rss = rss_mb()
                first = first or rss
                rate = done / (time.perf_counter() - started - generating)
                per_feature = (rss - baseline) * 1024 / features
                print(f"| {done:,} | {rss:.0f} | {per_feature:.0f} | {rss / first:.2f}x "
                      f"| {rate:,.0f} |", flush=True)  # fmt: skip
                next_report += args.report_every
            if done >= args.events:
                break
        round_ += 1
    checkpoints(pipeline, names)


def checkpoints(pipeline, names: list[str]) -> None:
    """One model's snapshot size, and checkpoint times for one and for every model."""
    size = len(msgspec.json.encode(pipeline.monitors[names[0]].snapshot()))
    timings = []
    for changed in ([names[0]], names):
        pipeline._changed = set(changed)  # what a batch of these models' events leaves
        started = time.perf_counter()
        pipeline.checkpoint()
        timings.append(time.perf_counter() - started)
    print(f"\n# one model's state snapshot: {size / 1024:.0f} KB of JSON "
          f"({size / 50 / 1024:.1f} KB per feature); checkpoint of 1 changed model "
          f"{timings[0] * 1000:.0f} ms, of all {len(names)} {timings[1] * 1e3:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
