"""A model with a real concept shift: before, the label follows x1; after, it follows x2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from driftd.store.sqlite import SqliteStore


def driftd(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the ``driftd`` command line as a user does, in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "driftd.cli", *args], capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip


def draw(n: int, shifted: bool, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(0, 1, n), rng.normal(0, 1, n)
    color = rng.choice(["red", "green", "blue"], n)
    sex = rng.choice(["f", "m"], n)
    signal = (x2 if shifted else x1) + 0.3 * (color == "red")
    y = (signal + rng.normal(0, 0.5, n) > 0).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "color": color, "sex": sex, "label": y})


def write_reference(path: Path, n: int = 3000, seed: int = 1) -> Path:
    draw(n, shifted=False, seed=seed).to_csv(path, index=False)
    return path


def config_text(
    reference: Path,
    state: Path,
    estimator: str = "sklearn.linear_model.LogisticRegression",
    params: str = "{max_iter: 500}",
    search: str = "{method: random, candidates: 6, space: {C: {low: 0.01, high: 10, log: true}}}",
    data: str = "{use_reference: false, holdout: 0.25}",
    gates: str = "{bootstrap: 300, reference_tolerance: null}",
    **retrain: str,
) -> str:
    """The concept-shift model's config; keyword arguments replace retrain settings."""
    extra = "".join(f"\n      {k}: {v}" for k, v in retrain.items())
    return f"""
models:
  credit:
    task: binary
    features: {{x1: numeric, x2: numeric, color: categorical}}
    reference: {reference}
    sensitive_attributes: [sex]
    retrain:
      estimator: {estimator}
      params: {params}
      search: {search}
      data: {data}
      gates: {gates}{extra}
runtime:
  state_dir: {state}
notifiers: [jsonl]
"""


def store_rows(store: SqliteStore, frame: pd.DataFrame, version: str, start: float = 1.8e9):
    rows = [
        ("credit", {
            "t": start + i, "x": {"x1": r.x1, "x2": r.x2, "color": r.color},
            "a": {"sex": r.sex}, "v": version, "y": int(r.label), "p": int(r.label),
        })
        for i, r in enumerate(frame.itertuples())
    ]  # fmt: skip
    store.commit({}, [], None, rows)
