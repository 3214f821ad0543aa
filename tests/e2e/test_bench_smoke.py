"""The benchmarks still run (seconds-long versions); their figures come from the full runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("module", "args", "expect"),
    [
        ("bench.retrain_time", ["--rows", "3000", "--candidates", "2"], "| HistGradientBoosting |"),
        ("bench.alert_latency", ["--alerts", "20"], "median ratio driftd / floor"),
    ],
)
def test_bench_smoke(module, args, expect):
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert expect in done.stdout
