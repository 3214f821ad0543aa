"""How long `driftd --help` and a command's start take, against a bare interpreter.

    .venv/bin/python -m bench.cli_startup --runs 7

Each row is the median wall time of ``runs`` fresh processes, measured in the same run
as the baseline (``python -c pass``): the figure to compare is the difference. The
last rows are ``python -X importtime`` for `driftd --help`: the heaviest imports it
still pays for (goal: nothing of the detectors, scipy, scikit-learn or the Kafka
clients; `driftd --help` under 0.5 s).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, capture_output=True, check=False, timeout=120)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def heaviest_imports(limit: int) -> list[tuple[str, float]]:
    command = [sys.executable, "-X", "importtime", "-m", "driftd.cli", "--help"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True,
                          timeout=120)  # fmt: skip
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if match and len(match.group(2)) <= 2:  # top-level imports and their children
            rows.append((match.group(3), int(match.group(1)) / 1e6))
    return sorted(rows, key=lambda r: -r[1])[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    python = sys.executable
    print(f"# median of {args.runs} processes; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")  # fmt: skip
    print("| process | seconds | minus the bare interpreter |")
    print("|---|---:|---:|")
    base = median_seconds([python, "-c", "pass"], args.runs)
    print(f"| `python -c pass` (baseline) | {base:.3f} | - |")
    for label, command in (("`driftd --help`", ["-m", "driftd.cli", "--help"]),
                           ("`driftd status --help`", ["-m", "driftd.cli", "status", "--help"]),
                           ("`driftd config check` (a missing file: parse, load, answer)",
                            ["-m", "driftd.cli", "config", "check", "--config",
                             "/nonexistent/driftd.yaml"])):  # fmt: skip
        took = median_seconds([python, *command], args.runs)
        print(f"| {label} | {took:.3f} | {took - base:+.3f} |")
    print()
    print("| heaviest imports of `driftd --help` (cumulative) | seconds |")
    print("|---|---:|")
    for name, seconds in heaviest_imports(6):
        print(f"| {name} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
