"""Where `driftd replay`'s time goes: a sampling profile of the embedded pipeline, by part.

    .venv/bin/python -m bench.profile --events 200000

The pipeline ``driftd replay`` runs (decode, join, every default detector, ticks and
rules, SQLite checkpoints) on the bench workload (bench/workload.py) with the default
10k-row reference sample, one core. A thread samples the main thread's stack every
``--interval`` seconds of CPU time (``ITIMER_PROF``: a signal, whose handler sees the
frame that was running; a thread sampling the stack instead lands mostly where numpy
releases the GIL) and each sample is counted once, in the first part whose marker is
on its stack, innermost frames first, so a detector's batch update counts as that
detector however deep the numpy call it was in. Start-up and imports are outside the
measured run (`driftd replay`'s own were measured apart: BENCHMARKS.md, "profile17").
"""

from __future__ import annotations

import argparse
import os
import signal
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.throughput import config_file
from bench.workload import events
from driftd.config import load_config
from driftd.daemon.embedded import build_pipeline, run_messages
from driftd.daemon.gctune import tune_gc

# (part, (file suffix, qualified function name) markers): the first part with a marker
# on the stack, looking from the innermost frame out, takes the sample. Markers name
# both the block of numeric features and what it replaced, so profiles before and
# after it compare part by part.
PARTS: list[tuple[str, tuple[tuple[str, str], ...]]] = [
    ("decode", (("driftd/events.py", "decode"),)),
    ("checkpoints (SQLite)", (("driftd/daemon/pipeline.py", "checkpoint"),
                              ("driftd/store/sqlite.py", ""))),
    ("tick: numeric windows (KS, Wasserstein, PSI, JS)", (
        ("numeric_columns.py", "NumericColumns.statistics_of"),
        ("column_tests.py", "NumericDrift.readings"))),
    ("tick: rules", (("driftd/alerts/rules.py", "RuleEngine.evaluate"),)),
    ("batches: numeric features (ranks, shift and scale CUSUMs)", (
        ("numeric_columns.py", "NumericColumns.update"),
        ("column_tests.py", "NumericDrift.update_many"))),
    ("batches: concept drift (ADWIN, error-rate tests)", (("detectors/concept/", ""),)),
    ("batches: quality", (("detectors/quality.py", "update_predictions"),)),
    ("batches: segments", (("detectors/segments.py", "update_predictions"),)),
    ("batches: fairness", (("detectors/fairness.py", "update_outcomes"),)),
    ("batches: performance, tumbling, estimate, versions", (
        ("detectors/performance.py", "update_outcomes"),
        ("detectors/tumbling.py", "update_outcomes"), ("detectors/estimate.py", "_pend"),
        ("detectors/versions.py", "update_outcomes"))),
    ("batches: categorical features, outputs, labels", (
        ("detectors/drift.py", "update_predictions"), ("detectors/drift.py", "update_labels"))),
    ("batches: feature columns, outcome records", (("detectors/base.py", ""),
                                                   ("detectors/monitor.py", "_feed"))),
    ("tick: other readings", (("detectors/monitor.py", "readings"),)),
    ("tick: join expiry", (("detectors/monitor.py", "expire"),)),
    ("per event: encode, join, queue", (("detectors/monitor.py", "on_prediction"),
                                        ("detectors/monitor.py", "on_label"))),
    ("per event: route", (("driftd/daemon/pipeline.py", "route"),)),
]


def part_of(frame) -> str:
    """The part of one sampled stack (innermost frame first)."""
    stack = []
    while frame is not None:
        stack.append((frame.f_code.co_filename, frame.f_code.co_qualname))
        frame = frame.f_back
    for filename, function in stack:
        for part, markers in PARTS:
            for suffix, name in markers:
                if suffix in filename and (not name or function.endswith(name)):
                    return part
    return "other"


class Sampler:
    """Counts the part of the running stack every ``interval`` seconds of CPU time."""

    def __init__(self, interval: float):
        self.interval = interval
        self.samples: Counter[str] = Counter()

    def _sample(self, signum, frame) -> None:
        self.samples[part_of(frame)] += 1

    def __enter__(self) -> Sampler:
        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)
        return self

    def __exit__(self, *exc) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, signal.SIG_DFL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--interval", type=float, default=0.005)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    work = Path(tempfile.mkdtemp(prefix="driftd-profile-"))
    batch = [(m, "bench", None) for m in events(args.events // 2)]
    pipeline = build_pipeline(load_config(config_file(work, 10_000, 500)), fresh=True,
                              quiet=True)  # fmt: skip
    tune_gc()
    with Sampler(args.interval) as sampler:
        started = time.process_time()
        run_messages(pipeline, batch)
        seconds = time.process_time() - started
    total = max(sum(sampler.samples.values()), 1)
    print(f"# `driftd replay`'s pipeline on {len(batch):,} bench events, 10k-row reference: "
          f"{seconds:.1f} s CPU, {len(batch) / seconds:,.0f} events/s, {total} samples")
    print("| part | share | seconds |")
    print("|---|---:|---:|")
    for part, count in sampler.samples.most_common():
        print(f"| {part} | {count / total:.0%} | {seconds * count / total:.1f} |")


if __name__ == "__main__":
    main()
