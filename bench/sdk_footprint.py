"""What an app pays to publish events: installed size and import time of the SDK.

    .venv/bin/python -m bench.sdk_footprint            # a fresh virtualenv per target
    .venv/bin/python -m bench.sdk_footprint --smoke    # import time only, this interpreter

Issue 18's goals for the SDK an app installs: under 10 MB with its dependencies, import
under 100 ms. Today the SDK is `driftd.sdk` inside the daemon's distribution, so an app
installs everything the daemon needs. Each target is installed into a new virtualenv
(pip, from this repository; the wheels come from pip's cache when it has them); the
size is what the install added to site-packages (pip itself excluded: an empty
virtualenv is the baseline), the import time the median over 7 fresh interpreters of
``import MODULE`` minus an empty interpreter's start.
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
# (what an app installs, the module it imports)
TARGETS = [("driftd (the daemon's distribution, today's SDK)", str(ROOT), "driftd.sdk")]
RUNS = 7


def import_ms(python: str, module: str) -> float:
    """Median wall time of ``import module`` in a fresh interpreter, start-up excluded."""

    def run(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([python, "-c", code], check=True)
        return time.perf_counter() - started

    empty = statistics.median(run("pass") for _ in range(RUNS))
    loaded = statistics.median(run(f"import {module}") for _ in range(RUNS))
    return max(loaded - empty, 0.0) * 1000


def site_packages_mb(venv: Path) -> float:
    (site,) = venv.glob("lib/python*/site-packages")
    return sum(f.stat().st_size for f in site.rglob("*") if f.is_file()) / 2**20


def installed(target: str, work: Path) -> tuple[float, float, int]:
    """(MB added to site-packages, MB of the empty virtualenv, distributions added)."""
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    empty = site_packages_mb(venv)
    before = _distributions(python)
    subprocess.run([python, "-m", "pip", "install", "--quiet", target], check=True,
                   env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})  # fmt: skip
    return site_packages_mb(venv) - empty, empty, len(_distributions(python) - before)


def _distributions(python: str) -> set[str]:
    listed = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], check=True,
                            capture_output=True, text=True).stdout  # fmt: skip
    return {line.split("==")[0].lower() for line in listed.splitlines() if "==" in line}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="import time here, no install")
    args = parser.parse_args()
    print("# SDK footprint: installed size and import time")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| what an app installs | distributions | installed (MB) | import (ms) | goal |")
    print("|---|---:|---:|---:|---|")
    for name, target, module in TARGETS:
        if args.smoke:
            ms = import_ms(sys.executable, module)
            print(f"| {name} (this interpreter) | - | - | {ms:.0f} | < 10 MB, < 100 ms |")
            continue
        with tempfile.TemporaryDirectory(prefix="driftd-sdk-") as work:
            size, _, count = installed(target, Path(work))
            ms = import_ms(str(Path(work) / "venv" / "bin" / "python"), module)
        met = "met" if size < 10 and ms < 100 else f"not met ({size / 10:.0f}x the size)"
        print(f"| {name} | {count} | {size:.0f} | {ms:.0f} | < 10 MB, < 100 ms: {met} |")


if __name__ == "__main__":
    main()
