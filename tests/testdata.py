"""Small data files the tests write: a reference CSV shaped like the demo's."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def write_reference_csv(path: Path, n: int = 2000, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    color = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])
    score = 1 / (1 + np.exp(-(x * 1.5)))
    label = (rng.random(n) < score).astype(int)
    sex = rng.choice(["f", "m"], n)
    lines = ["x,color,score,prediction,label,sex"]
    lines += [
        f"{x[i]:.6f},{color[i]},{score[i]:.6f},{int(score[i] >= 0.5)},{label[i]},{sex[i]}"
        for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_demo(state: Path, predictions: int = 8000, *extra: str) -> Path:
    """`driftd demo` into ``state`` (a smaller stream than the default); returns its config."""
    done = subprocess.run(
        [sys.executable, "-m", "driftd.cli", "demo", "--quiet", "--state-dir", str(state),
         "--predictions", str(predictions), *extra],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return state / "config.yaml"


def wait_until(condition, timeout: float, what: str) -> None:
    """Wait for a condition the test observes (a signal, not a guess at timing)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
