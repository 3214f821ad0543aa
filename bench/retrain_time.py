"""Retraining time and the quality each search reaches in the same time.

    .venv/bin/python -m bench.retrain_time --rows 50000 --candidates 20

One full run of the worker (driftd.retrain.run.retrain) on a concept-shifted stream
stored in the embedded store, for two estimators and the three search methods. Halving
runs first with ``--candidates``; its search time is then the time budget of the random
and the Optuna (TPE, pruned) searches, which may try as many candidates as fit in it:
equal time, compared by the quality reached (best cross-validated score, and the
promoted model's accuracy on the holdout). Baseline in the same process: a single fit
of the same pipeline with default parameters on the same training rows (what the
search multiplies).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from retrain.helpers import config_text, draw, store_rows, write_reference  # noqa: E402

from driftd.config import load_config  # noqa: E402
from driftd.daemon.paths import registry_dir  # noqa: E402
from driftd.retrain.registry import Registry  # noqa: E402
from driftd.retrain.run import retrain  # noqa: E402
from driftd.retrain.tune import build_estimator  # noqa: E402
from driftd.store.sqlite import SqliteStore  # noqa: E402

ESTIMATORS = {
    "LogisticRegression": ("sklearn.linear_model.LogisticRegression", "{max_iter: 500}",
                           "{C: {low: 0.01, high: 10, log: true}}"),
    "HistGradientBoosting": ("sklearn.ensemble.HistGradientBoostingClassifier", "{}",
                             "{learning_rate: {low: 0.02, high: 0.3, log: true}, "
                             "max_leaf_nodes: [15, 31, 63], l2_regularization: [0.0, 0.1, 1.0]}"),
}  # fmt: skip


def config(work: Path, estimator: str, params: str, space: str, method: str, n: int,
           budget: float) -> Path:  # fmt: skip
    path = work / "driftd.yaml"
    search = f"{{method: {method}, candidates: {n}, time_budget: {budget:.1f}, space: {space}}}"
    path.write_text(
        config_text(
            write_reference(work / "reference.csv"), work / "state", estimator=estimator,
            params=params, search=search,
            data="{use_reference: false, max_rows: 60000}",
            gates="{reference_tolerance: null}",
        )
    )  # fmt: skip
    return path


def run_once(rows, estimator: str, params: str, space: str, method: str,
             candidates: int, budget: float) -> dict:  # fmt: skip
    """One worker run; its times, the candidates tried and the quality reached."""
    work = Path(tempfile.mkdtemp(prefix="driftd-retrain-bench-"))
    cfg = load_config(config(work, estimator, params, space, method, candidates, budget))
    (work / "state").mkdir()
    store = SqliteStore(work / "state" / "driftd.sqlite")
    store_rows(store, rows, version="1")
    result = retrain(cfg, "credit", store, Registry(registry_dir(cfg)), [])
    search = result.report.get("search", {})
    tried = search.get("candidates", [])
    scores = [c["score"] for c in tried if not c.get("pruned") and c["score"] == c["score"]]
    return {
        "seconds": result.seconds, "search": search.get("seconds", float("nan")),
        "tried": len(tried), "pruned": sum(1 for c in tried if c.get("pruned")),
        "cv": max(scores) if scores else float("nan"),
        "holdout": result.report.get("gates", {}).get("challenger", {}).get("holdout"),
        "status": result.status,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--candidates", type=int, default=20)
    args = parser.parse_args()
    rows = draw(args.rows, shifted=True, seed=1)
    print(f"# retraining, {args.rows} joined rows, 3 time-ordered folds; halving with "
          f"{args.candidates} candidates, random and optuna within its search time")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| estimator | search | one default fit (s) | search (s) | candidates (pruned) "
          "| best CV accuracy | holdout accuracy | full run (s) | run / one fit | outcome |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, (estimator, params, space) in ESTIMATORS.items():
        spec = load_config(config(Path(tempfile.mkdtemp()), estimator, params, space, "random",
                                  1, 60)).models["credit"]  # fmt: skip
        train = rows.iloc[: int(len(rows) * 0.8)]
        started = time.perf_counter()
        build_estimator(spec, spec.retrain).fit(train[["x1", "x2", "color"]], train["label"])
        one_fit = time.perf_counter() - started
        budget = 0.0
        for method in ("halving", "random", "optuna"):
            n = args.candidates if method == "halving" else 10 * args.candidates
            got = run_once(rows, estimator, params, space, method, n,
                           max(budget, 1.0) if method != "halving" else 3600.0)  # fmt: skip
            if method == "halving":
                budget = got["search"]
            print(f"| {name} | {method} | {one_fit:.2f} | {got['search']:.1f} "
                  f"| {got['tried']} ({got['pruned']}) | {got['cv']:.4f} "
                  f"| {got['holdout']:.4f} | {got['seconds']:.1f} "
                  f"| {got['seconds'] / one_fit:.0f}x | {got['status']} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
