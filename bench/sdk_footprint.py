"""What an app pays to publish events: installed size and import time of the SDK.

    .venv/bin/python -m bench.sdk_footprint            # a fresh virtualenv per target
    .venv/bin/python -m bench.sdk_footprint --smoke    # import time only, this interpreter

Issue 18's goals for the SDK an app installs: under 10 MB with its dependencies, import
under 100 ms. The SDK is its own distribution, ``driftd-sdk`` (sdk/python); before, it
was ``driftd.sdk`` inside the daemon's distribution, so an app installed everything the
daemon needs (the last row: what that costs). Each target is installed into a new
virtualenv (pip, from this repository; the wheels come from pip's cache when it has
them); the size is what the install added to site-packages (pip itself excluded: an
empty virtualenv is the baseline), the import time the median over 7 fresh interpreters
of ``import MODULES`` minus an empty interpreter's start. The Publisher imports its
Kafka client on first use, in its sender thread; the second import column adds it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SDK = ROOT / "sdk" / "python"
# (what an app installs, pip's arguments, the module it imports, its Kafka client's module)
TARGETS = [
    ("driftd-sdk", [str(SDK)], "driftd_sdk", "kafka"),
    ("driftd-sdk[confluent]", [f"{SDK}[confluent]"], "driftd_sdk", "confluent_kafka"),
    ("driftd-sdk[model-client]", [f"{SDK}[model-client]"], "driftd_sdk", "skops.io"),
    ("driftd (the daemon; apps installed it before 0.10)", [str(SDK), str(ROOT)],
     "driftd.sdk", "confluent_kafka"),
]
GOAL_MB, GOAL_MS = 10, 100
RUNS = 7
# The virtualenvs see only what was installed into them (a PYTHONPATH pointing at a
# checkout would let the daemon's sources and metadata in).
CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
CLEAN_ENV["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"


def import_ms(python: str, module: str) -> float:
    """Median wall time of ``import module`` in a fresh interpreter, start-up excluded."""

    def run(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([python, "-c", code], check=True, env=CLEAN_ENV)
        return time.perf_counter() - started

    empty = statistics.median(run("pass") for _ in range(RUNS))
    loaded = statistics.median(run(f"import {module}") for _ in range(RUNS))
    return max(loaded - empty, 0.0) * 1000


def site_packages_mb(venv: Path) -> float:
    (site,) = venv.glob("lib/python*/site-packages")
    return sum(f.stat().st_size for f in site.rglob("*") if f.is_file()) / 2**20


def installed(target: list[str], work: Path) -> tuple[float, float, int]:
    """(MB added to site-packages, MB of the empty virtualenv, distributions added)."""
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    empty = site_packages_mb(venv)
    before = _distributions(python)
    subprocess.run([python, "-m", "pip", "install", "--quiet", *target], check=True,
                   env=CLEAN_ENV)  # fmt: skip
    return site_packages_mb(venv) - empty, empty, len(_distributions(python) - before)


def _distributions(python: str) -> set[str]:
    listed = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], check=True,
                            capture_output=True, text=True, env=CLEAN_ENV).stdout  # fmt: skip
    return {line.split("==")[0].lower() for line in listed.splitlines() if "==" in line}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="import time here, no install")
    args = parser.parse_args()
    print("# SDK footprint: installed size and import time")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| what an app installs | distributions | installed (MB) | import (ms) "
          "| import with its client (ms) | goal: < 10 MB, < 100 ms |")
    print("|---|---:|---:|---:|---:|---|")
    for name, target, module, client in TARGETS:
        if args.smoke:
            ms = import_ms(sys.executable, module)
            print(f"| {name} (this interpreter) | - | - | {ms:.0f} | - | - |")
            continue
        with tempfile.TemporaryDirectory(prefix="driftd-sdk-") as work:
            size, _, count = installed(target, Path(work))
            python = str(Path(work) / "venv" / "bin" / "python")
            ms = import_ms(python, module)
            with_client = import_ms(python, f"{module}, {client}")
        misses = [f"{size / GOAL_MB:.1f}x the size"] if size >= GOAL_MB else []
        misses += [f"{ms / GOAL_MS:.1f}x the time"] if ms >= GOAL_MS else []
        verdict = f"missed ({', '.join(misses)})" if misses else "met"
        print(f"| {name} | {count} | {size:.1f} | {ms:.0f} | {with_client:.0f} | {verdict} |")


if __name__ == "__main__":
    main()
