"""Memory over a long stream: RSS after 1M and 10M events, 10 models x 50 features.

    .venv/bin/python -m bench.memory --events 10000000

The embedded pipeline (SQLite checkpoints, every default detector) consumes chunks
of the bench workload (bench/workload.py, with 27 extra numeric features) for ten
models in turn, each chunk with fresh event ids and later timestamps. A child process
generates the events and pipes them in as JSON lines, the way `driftd replay` reads a
file: generating 40k events in the measured process would add the generator's own
tens of MB (and its allocator high-water mark) to what is reported as driftd's.
State is bounded by the window sizes, ``join.max_pending`` and ``join.remember``, so
RSS should level off once they are full: the figure to read is RSS at the end
against RSS at 1M.

Per monitored feature: (RSS - RSS after the imports, before any model) / 500, what
each further feature costs; the baseline is taken after a throwaway one-model build,
so that what a build imports is not counted per feature. At the end, the size of one
model's state snapshot (the JSON a checkpoint writes) and the time of a checkpoint of
one changed model (what the runtime writes after a batch of one model's events) and
of all ten.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

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
    parser.add_argument("--generate", action="store_true", help="(the child) write events")
    args = parser.parse_args()
    names = [f"m{i}" for i in range(MODELS)]
    chunk = min(CHUNK, max(args.events // (2 * MODELS), 100))
    if args.generate:
        generate(names, chunk, args.events)
        return
    work = Path(tempfile.mkdtemp(prefix="driftd-memory-"))
    reference = write_reference(work / "reference.csv", extra=27)
    path = work / "driftd.yaml"
    path.write_text("models:\n" + "".join(model_yaml(n, reference, 50) for n in names)
                    + f"runtime:\n  state_dir: {work / 'state'}\nnotifiers: []\n")  # fmt: skip
    config = load_config(path)
    warm_up(work, reference)
    gc.collect()
    baseline = rss_mb()  # the interpreter and every library a model build loads
    pipeline = build_pipeline(config, fresh=True, quiet=True)
    for name in names:
        pipeline.monitor(name)
    features = MODELS * 50
    tune_gc()  # as `driftd replay` and `driftd run` do
    print(f"# RSS over the stream, {MODELS} models x 50 features, {args.events:,} events")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    gc.collect()
    built = rss_mb()
    print(f"# RSS after imports (a throwaway model built and dropped) {baseline:.0f} MB; "
          f"with the 10 models built {built:.0f} MB "
          f"({(built - baseline) * 1024 / features:.0f} KB per feature)")  # fmt: skip
    print("| events | RSS (MB) | per feature (KB) | vs first report | events/s so far |")
    print("|---:|---:|---:|---:|---:|")
    progress = {"done": 0, "next": args.report_every}
    reports: list[float] = []  # RSS at each report
    started = time.perf_counter()

    def report(records: int) -> None:
        progress["done"] += records
        if progress["done"] < progress["next"]:
            return
        progress["next"] += args.report_every
        gc.collect()
        rss, done = rss_mb(), progress["done"]
        reports.append(rss)
        rate = done / (time.perf_counter() - started)
        per_feature = (rss - baseline) * 1024 / features
        print(f"| {done:,} | {rss:.0f} | {per_feature:.0f} | {rss / reports[0]:.2f}x "
              f"| {rate:,.0f} |", flush=True)  # fmt: skip

    command = [sys.executable, "-m", "bench.memory", "--generate", "--events", str(args.events)]
    with subprocess.Popen(command, stdout=subprocess.PIPE) as child:
        assert child.stdout is not None
        run_messages(pipeline, piped(child.stdout), on_batch=report)
    if child.returncode:
        raise SystemExit(f"the event generator failed ({child.returncode})")
    checkpoints(pipeline, names)
    if reports:
        goals(reports, baseline, features)


GOAL_KB = 100  # issue 17: RSS per monitored feature at steady state
FLAT = 0.05  # "flat": RSS grows less than this from the first report (1M) to the end


def goals(reports: list[float], baseline: float, features: int) -> None:
    """Issue 17's memory goals: per feature at the end, and flat from the first report
    to the end (the growth over the second half, after the remembered ids have filled to
    ``join.remember``, is shown beside it)."""
    per_feature = (reports[-1] - baseline) * 1024 / features
    half = reports[len(reports) // 2]
    growth, late = reports[-1] / reports[0] - 1, reports[-1] / half - 1
    over = f"no ({per_feature / GOAL_KB:.1f}x over)" if per_feature > GOAL_KB else "yes"
    print(f"\n| goal (issue 17) | figure | goal | met |\n|---|---:|---:|---|\n"
          f"| RSS per monitored feature at the end | {per_feature:.0f} KB | {GOAL_KB} KB "
          f"| {over} |\n| flat over the stream | {reports[0]:.0f} -> {reports[-1]:.0f} MB "
          f"({growth:+.0%}; {late:+.0%} over the second half) | < {FLAT:+.0%} "
          f"| {'yes' if growth < FLAT else 'no'} |")  # fmt: skip


def warm_up(work: Path, reference: Path) -> None:
    """Build and drop a one-model pipeline, so that what a build imports (pyarrow's CSV
    reader, pandas, scipy.stats...) is in the baseline, not counted per feature."""
    path = work / "warm-up.yaml"
    path.write_text("models:\n" + model_yaml("warm-up", reference, 23)
                    + f"runtime:\n  state_dir: {work / 'warm-up'}\nnotifiers: []\n")  # fmt: skip
    pipeline = build_pipeline(load_config(path), fresh=True, quiet=True)
    pipeline.monitor("warm-up")
    pipeline.store.close()


def generate(names: list[str], chunk: int, total: int) -> None:
    """The child: chunks of each model's events in turn, as JSON lines on stdout."""
    out, done, round_ = sys.stdout.buffer, 0, 0
    while done < total:
        for name in names:
            block = events(chunk, model=name, seed=round_, id_prefix=f"r{round_}-",
                           start=1.7e9 + round_ * chunk * 0.05, extra=27)  # fmt: skip
            block = block[: total - done]
            out.write(b"\n".join(block) + b"\n")
            done += len(block)
            if done >= total:
                break
        round_ += 1
    out.flush()


def piped(stream: IO[bytes]) -> Iterator[tuple[bytes, str, None]]:
    """The child's lines as messages, read as they come (the pipe holds ~64 KB)."""
    for line in stream:
        yield line.rstrip(b"\n"), "generator", None


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
