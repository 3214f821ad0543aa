"""Regenerate BENCHMARKS.md: every benchmark, run in turn, one section each.

    .venv/bin/python -m bench.report                 # everything (about half an hour)
    .venv/bin/python -m bench.report --only memory   # one section; the others are kept
    .venv/bin/python -m bench.report --smoke --out /tmp/b.md   # seconds-long (CI)

Each section is a benchmark module run as its own process (a fresh heap, one
machine state at a time) whose stdout is the table; the section adds what was run
and how to read it. Sections whose environment is missing (the peers' virtualenv,
say) say so instead of failing the report.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS_PYTHON = ROOT / "bench" / ".venv-peers" / "bin" / "python"


@dataclass
class Section:
    name: str
    title: str
    module: str
    full: list[str]
    smoke: list[str]
    about: str
    python: Path | None = None  # another interpreter (the peers' virtualenv)


SECTIONS = [
    Section("throughput", "Embedded throughput on one core", "bench.throughput",
            ["--events", "1000000"], ["--events", "4000"],
            "Goals (issue 17): `driftd replay` at >= 0.5x the decode-only rate and >= 100k "
            "events/s. Decode-only is the baseline; no-detectors is the floor: the whole "
            "pipeline with every monitor's detector list empty (decode, route, encode, join, "
            "queues, ticks, checkpoints), which no detector speed-up can go below; "
            "detectors-only shows the monitor's share; "
            "`evaluate_every` 5000 shows what the evaluation ticks (readings + rules every "
            "`evaluate_every` events) cost; the `driftd replay` rows are the command as a "
            "process (imports, start-up and summary included). With the bench workload's "
            "5k-row reference and the default 10k sample: a tick compares each numeric "
            "feature's window with its whole sorted reference."),
    Section("profile", "Where `driftd replay`'s pipeline spends its time, by part",
            "bench.profile", ["--events", "200000"], ["--events", "4000"],
            "The pipeline `driftd replay` runs, on the bench workload with the default 10k-row "
            "reference, one core, sampled every 5 ms of CPU time (SIGPROF); each sample "
            "counted in the innermost stage or detector on its stack. What to speed up next "
            "for issue 17's goals; profiles before and after a change compare part by part "
            "(the section \"Where `driftd replay`'s time goes (issue 17)\")."),
    Section("kafka", "`driftd run` on real Kafka vs the raw consume rate", "bench.kafka_throughput",
            ["--predictions", "110000"], ["--predictions", "300"],
            "One local Kafka broker (from its jars) and Redis share the 2 cores with driftd. "
            "The full daemon path: decode, join, every default detector, rules, dead letters, "
            "Redis checkpoints and Kafka commits; with the routing stage (the default: every "
            "event is written once more, to its model's partition of the repartition topics, "
            "and read from there) and without it (`kafka.repartition: false`, producers keying "
            "by model_id with murmur2). The last line is the routing hop's cost: bytes written "
            "per input byte, and its latency on a live trickle. Goal: >= 80% of raw and >= "
            "100k events/s."),
    Section("engines", "`driftd run`: the faust engine vs the default on one backlog",
            "bench.engines", ["--predictions", "110000"], ["--predictions", "300"],
            "Each engine as a `driftd run` process in its own group over the same backlog, "
            "routing stage included, timed by what it checkpointed in Redis. Goal: faust at "
            "least 0.5x the default engine."),
    Section("shards", "One hot model over two `driftd run` processes (`shards: 2`)",
            "bench.shards", ["--predictions", "100000"], ["--predictions", "300"],
            "One model of the bench workload, its whole traffic on one Kafka backlog; real "
            "`driftd run` processes, each run a fresh consumer group: one process, two with "
            "the model unsharded (one model is one partition: the second only routes), two "
            "with `shards: 2` (a shard each; the one holding shard 0 merges at its ticks). "
            "Timed from the moment the group settled (joins and rebalances are start-up) to "
            "the checkpoint of the last event. Machine busy: all cores, Kafka and Redis "
            "included. Goal (issue 17): close to 2x one process. The merge table: at shard "
            "0, decoding, merging and reading every shard's summary; a shard's own tick, its "
            "counts, sequential tests and summary (the window statistics are the merge's)."),
    Section("memory", "Memory over a long stream", "bench.memory",
            ["--events", "10000000"], ["--events", "20000", "--report-every", "10000"],
            "10 models x 50 features through the embedded pipeline, the events piped in by a "
            "generator child process. State is bounded by the windows, `join.max_pending` and "
            "`join.remember`: RSS should level off, not grow with the stream. Per feature: RSS "
            "over the process's RSS after its imports (taken after a throwaway one-model "
            "build, so what a build imports is not counted per feature), / 500. Goal (issue "
            "17): <= 100 KB per monitored feature, flat from 1M to 10M events."),
    Section("sdk", "What an app installs to publish events", "bench.sdk_footprint", [],
            ["--smoke"],
            "The SDK an app installs, in a fresh virtualenv: the size it adds to "
            "site-packages with its dependencies, and the time to import it (median of 7 "
            "fresh interpreters, an empty interpreter's start subtracted). Goals (issue 18): "
            "under 10 MB and 100 ms."),
    Section("peers", "The same work as the peers", "bench.peers", [], ["--smoke"],
            "Drift statistics for a 50k x 23 reference against a 50k current window, by "
            "driftd's detectors, Evidently's DataDriftPreset and NannyML's univariate drift "
            "calculator, on the same data; fairness by group on 100k rows against fairlearn's "
            "MetricFrame. Run in bench/.venv-peers (bench/requirements-peers.txt). Goal: 10x "
            "faster than NannyML, 100x faster than Evidently.", PEERS_PYTHON),
    Section("detection", "Detection quality on streams with known drift points",
            "bench.detection", ["--seeds", "10"], ["--seeds", "1", "--smoke"],
            "Detection rate, median delay (events after the drift point to the first alarm) "
            "and false alarms per 100k stable events, for driftd's detectors and, in the same "
            "run, river's with their defaults. Goals: delay no worse than ADWIN's, <= 1 false "
            "alarm per 100k, the weak SEA drift caught within 2,000 events in every seed."),
    Section("alert_latency", "Alert latency: a breach -> the Slack request received",
            "bench.alert_latency", ["--alerts", "200"], ["--alerts", "10"],
            "Each round hands one new firing alert to the dispatcher and times until a local "
            "Slack stand-in has the request (waits 0; in production `group_wait` adds its "
            "value). Baseline: a bare urllib POST to the same stand-in."),
    Section("alert_quality", "Alert quality: false alerts when stable, delays when changed",
            "bench.alert_quality", ["--seeds", "10", "--predictions", "40000"],
            ["--seeds", "1", "--predictions", "6000", "--only", "gaussian", "missing-flood"],
            "Stream families through `driftd replay` with the default config; river's ADWIN "
            "(default delta) on the matching indicator in the same run. Goals: at most 1 "
            "false alert per model per 1M stable predictions; every change detected in every "
            "seed, median delay at most 1.5x ADWIN's."),
    Section("evidence", "An alert's evidence: the segment named, the change point located",
            "bench.evidence", ["--seeds", "20"], ["--seeds", "1"],
            "A binary model whose error rate rises in one clinic (a quarter of the traffic); "
            "the accuracy alert's evidence taken from the last 1,000 joined outcomes. Goals: "
            "the broken clinic named first in every seed once the window is after the "
            "change, no segment listed on stable streams beyond the 1% family-wise rate, no "
            "extra segment (the sexes degrade only through the clinic). river's ADWIN on the "
            "same error stream says when it alarms; the change point says where the change "
            "began."),
    Section("cli", "CLI start-up: `driftd --help` and a command's first answer",
            "bench.cli_startup", ["--runs", "7"], ["--runs", "1"],
            "Fresh processes, medians, against a bare interpreter in the same run; then "
            "`python -X importtime` of `driftd --help`. Goal: `driftd --help` under 0.5 s "
            "(it was 3.7-5.5 s when every command's code loaded up front)."),
    Section("burn_in", "The false-alarm budget with an estimated baseline", "bench.burn_in",
            ["--deployments", "200"], ["--deployments", "3"],
            "Deployments learn the error test's baseline from their own burn-in; each one's "
            "false-alarm rate is exact (the Markov chain). Calibrated at the estimate vs at "
            "its 95% quantile (driftd's default)."),
    Section("retrain", "Retraining time, and the quality each search reaches in it",
            "bench.retrain_time",
            ["--rows", "50000", "--candidates", "20"], ["--rows", "2000", "--candidates", "2"],
            "One full worker run: read the joined rows, search, refit, gates (bootstrap), "
            "register (skops + sha256), promote, report. Baseline: one default fit. Halving "
            "runs first; its search time is the budget of the random and Optuna (TPE, "
            "pruned) searches: equal time, compared by the best cross-validated accuracy "
            "and the holdout accuracy of the model each promoted."),
    Section("live_trial", "Live trials: decisions, error rates, the request path",
            "bench.live_trial", ["--streams", "400", "--horizon", "8000", "--requests", "3000"],
            ["--streams", "10", "--horizon", "1000", "--requests", "100"],
            "The trial's sequential test (issue 19) by Monte Carlo with its own code: promoted "
            "at a gap of 0 is the false promotion rate (bound: 5%), rejected at a positive gap "
            "the false rejection rate; a fixed-sample z-test looked at on the same schedule is "
            "the baseline (peeking). Then `ModelClient.serve` per request with real models: "
            "the shadow challenger scores on a background thread (a bounded queue: when it "
            "cannot keep up, requests skip their shadow score rather than wait)."),
]  # fmt: skip


def run_section(section: Section, smoke: bool) -> str:
    args = section.smoke if smoke else section.full
    python = section.python or Path(sys.executable)
    command = f"{'.venv/bin/python' if section.python is None else python.relative_to(ROOT)} " \
              f"-m {section.module} {' '.join(args)}".strip()  # fmt: skip
    head = f"## {section.title}\n\nCommand: `{command}`\n\n{section.about}\n\n"
    if not python.exists():
        return head + f"Not run: {python.relative_to(ROOT)} is missing (see the section).\n"
    started = time.perf_counter()
    done = subprocess.run([str(python), "-m", section.module, *args], cwd=ROOT, text=True,
                          capture_output=True, check=False)  # fmt: skip
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{section.module} failed:\n{done.stderr[-3000:]}")
    when = time.strftime("%Y-%m-%d")
    return head + f"Run of {when} ({took:.0f} s):\n\n{done.stdout.strip()}\n"


def merge(old: str, fresh: dict[str, str]) -> str:
    """The report with the fresh sections replaced (or appended), the others kept."""
    out = old
    for name in [s.name for s in SECTIONS]:
        if name not in fresh:
            continue
        block = f"<!-- section:{name} -->\n{fresh[name]}<!-- /section:{name} -->\n"
        pattern = re.compile(rf"<!-- section:{name} -->.*?<!-- /section:{name} -->\n", re.S)
        if pattern.search(out):
            out = pattern.sub(lambda _, b=block: b, out)
        else:
            out += "\n" + block
    return out


HEADER = f"""# Benchmarks

Produced by `.venv/bin/python -m bench.report` (each section names its own command).
Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.
Our machines are shared and noisy: compare the ratios within a table (measured in the
same process, on the same data), not absolute rates across tables or runs.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="seconds-long sizes (CI)")
    parser.add_argument("--only", default="", help="comma-separated section names")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    wanted = {n for n in args.only.split(",") if n} or {s.name for s in SECTIONS}
    unknown = wanted - {s.name for s in SECTIONS}
    if unknown:
        raise SystemExit(f"unknown sections {sorted(unknown)}; known: "
                         f"{[s.name for s in SECTIONS]}")  # fmt: skip
    fresh = {}
    for section in SECTIONS:
        if section.name in wanted:
            print(f"running {section.name} ...", file=sys.stderr, flush=True)
            fresh[section.name] = run_section(section, args.smoke)
    old = args.out.read_text() if args.out.exists() and args.only else HEADER
    args.out.write_text(merge(old, fresh))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
