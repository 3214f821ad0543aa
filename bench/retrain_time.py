"""Retraining time: 50k joined rows, a 20-candidate search, gates, registry, report.

    .venv/bin/python -m bench.retrain_time --rows 50000 --candidates 20

One full run of the worker (driftd.retrain.run.retrain) on a concept-shifted stream
stored in the embedded store, for two estimators and both search methods. Baseline
in the same process: a single fit of the same pipeline with default parameters on
the same training rows (what the search multiplies).
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


def config(work: Path, estimator: str, params: str, space: str, method: str, n: int) -> Path:
    path = work / "driftd.yaml"
    path.write_text(
        config_text(
            write_reference(work / "reference.csv"), work / "state", estimator=estimator,
            params=params, search=f"{{method: {method}, candidates: {n}, space: {space}}}",
            data="{use_reference: false, max_rows: 60000}",
            gates="{reference_tolerance: null}",
        )
    )  # fmt: skip
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--candidates", type=int, default=20)
    args = parser.parse_args()
    rows = draw(args.rows, shifted=True, seed=1)
    print(f"# retraining time, {args.rows} joined rows, {args.candidates} candidates, "
          f"3 time-ordered folds")  # fmt: skip
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| estimator | search | one default fit (s) | full run (s) | search (s) "
          "| run / one fit | outcome |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---|")
    for name, (estimator, params, space) in ESTIMATORS.items():
        for method in ("halving", "random"):
            work = Path(tempfile.mkdtemp(prefix="driftd-retrain-bench-"))
            path = config(work, estimator, params, space, method, args.candidates)
            cfg = load_config(path)
            (work / "state").mkdir()
            store = SqliteStore(work / "state" / "driftd.sqlite")
            store_rows(store, rows, version="1")
            spec = cfg.models["credit"]
            train = rows.iloc[: int(len(rows) * 0.8)]
            started = time.perf_counter()
            build_estimator(spec, spec.retrain).fit(train[["x1", "x2", "color"]], train["label"])
            one_fit = time.perf_counter() - started
            result = retrain(cfg, "credit", store, Registry(registry_dir(cfg)), [])
            search = result.report.get("search", {}).get("seconds", float("nan"))
            print(f"| {name} | {method} | {one_fit:.2f} | {result.seconds:.1f} | {search:.1f} "
                  f"| {result.seconds / one_fit:.0f}x | {result.status} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
