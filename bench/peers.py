"""The same work as the peers: drift statistics and fairness by group, timed side by side.

    bench/.venv-peers/bin/python -m bench.peers

Run in its own virtualenv (bench/requirements-peers.txt: Evidently needs pandas
below 3, NannyML needs statsmodels), never in driftd's. On one data set:

- drift: a reference of 50k rows x 23 columns (20 numeric, 3 categorical) against a
  current window of 50k rows with a shift in two columns. driftd: build each
  column's detector from the reference, put the 50k current values in its window,
  compute its readings (numeric: KS statistic and p-value, Wasserstein, PSI,
  Jensen-Shannon, and the sequential shift test over the 50k values; categorical:
  chi-square, Jensen-Shannon, unseen share). A last row times what a running
  monitor repeats: one evaluation tick of detectors already built and filled. Evidently:
  ``Report([DataDriftPreset()]).run(current, reference)`` (its default test per
  column). NannyML: ``UnivariateDriftCalculator`` with KS, Wasserstein and
  Jensen-Shannon for numeric columns, chi-square and Jensen-Shannon for categorical
  ones, one chunk, fit on the reference then calculate.
- fairness: accuracy, selection rate, TPR and FPR per group on 100k rows with 3
  groups. fairlearn: ``MetricFrame`` over the arrays. driftd: its fairness window of
  100k filled from the same rows, then its readings (the evaluation tick); filling
  the window (what the monitor does with joined outcomes) is reported separately.

Each tool runs ``--repeat`` times; the table gives the median and its ratio to driftd.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML phones home otherwise
warnings.filterwarnings("ignore")

NUMERIC = [f"f{i}" for i in range(20)]
CATEGORICAL = ["c0", "c1", "c2"]
LEVELS = np.array(["a", "b", "c", "d", "e"])


def frame(n: int, seed: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {name: rng.normal(0, 1, n) for name in NUMERIC}
    data["f0"] = data["f0"] + shift
    for name in CATEGORICAL:
        p = [0.4, 0.25, 0.15, 0.12, 0.08] if name != "c0" or not shift else [0.2] * 5
        data[name] = rng.choice(LEVELS, n, p=p)
    return pd.DataFrame(data)


def timed(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def driftd_detectors(reference: pd.DataFrame, current: pd.DataFrame) -> list:
    """Each column's detector built from the reference, its window filled with current."""
    from driftd.config import DriftSpec
    from driftd.detectors.drift import CategoricalDrift, NumericDrift

    spec = DriftSpec(window=len(current))
    out = []
    for name in NUMERIC:
        detector = NumericDrift(reference[name].to_numpy(float), spec)
        detector.update_many(current[name].to_numpy(float))
        out.append(detector)
    for name in CATEGORICAL:
        detector = CategoricalDrift(reference[name].to_numpy(), spec)
        detector.update_many(current[name].tolist())
        out.append(detector)
    return out


def driftd_drift(reference: pd.DataFrame, current: pd.DataFrame) -> list:
    """The whole job, as the peers do it: build from the reference, fill, compute."""
    return [detector.readings() for detector in driftd_detectors(reference, current)]


def evidently_drift(reference: pd.DataFrame, current: pd.DataFrame):
    from evidently import Report
    from evidently.presets import DataDriftPreset

    return Report([DataDriftPreset()]).run(current, reference)


def nannyml_drift(reference: pd.DataFrame, current: pd.DataFrame):
    import nannyml as nml

    calculator = nml.UnivariateDriftCalculator(
        column_names=[*NUMERIC, *CATEGORICAL], treat_as_categorical=CATEGORICAL,
        continuous_methods=["kolmogorov_smirnov", "wasserstein", "jensen_shannon"],
        categorical_methods=["chi2", "jensen_shannon"], chunk_number=1,
    )  # fmt: skip
    calculator.fit(reference)
    return calculator.calculate(current)


def fairness_rows(n: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    groups = rng.choice(["g1", "g2", "g3"], n, p=[0.5, 0.3, 0.2])
    y = (rng.random(n) < 0.4).astype(int)
    y_hat = np.where(rng.random(n) < 0.8, y, 1 - y)
    return y, y_hat, groups


def fairlearn_groups(y, y_hat, groups):
    from fairlearn.metrics import (
        MetricFrame,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score

    metrics = {"accuracy": accuracy_score, "selection_rate": selection_rate,
               "tpr": true_positive_rate, "fpr": false_positive_rate}  # fmt: skip
    return MetricFrame(metrics=metrics, y_true=y, y_pred=y_hat, sensitive_features=groups).by_group


def driftd_fill(y, y_hat, groups):
    from driftd.detectors.fairness import FairnessWindow

    window = FairnessWindow("group", len(y), 30, "selection")
    window.update_many(groups.tolist(), y.astype(float), y_hat.astype(float))
    return window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--fairness-rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="small sizes, one repeat (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.fairness_rows, args.repeat = 2_000, 5_000, 1
    import evidently
    import fairlearn
    import nannyml

    reference, current = frame(args.rows, 1, 0.0), frame(args.rows, 2, 0.3)
    ours = timed(lambda: driftd_drift(reference, current), args.repeat)
    rows = [
        ("drift, 23 columns", f"driftd {_version()}", ours),
        ("drift, 23 columns", f"NannyML {nannyml.__version__}",
         timed(lambda: nannyml_drift(reference, current), args.repeat)),
        ("drift, 23 columns", f"Evidently {evidently.__version__}",
         timed(lambda: evidently_drift(reference, current), args.repeat)),
    ]  # fmt: skip
    built = driftd_detectors(reference, current)
    rows.append(("drift, 23 columns", "driftd: one evaluation tick of built detectors",
                 timed(lambda: [d.readings() for d in built], args.repeat)))  # fmt: skip
    y, y_hat, groups = fairness_rows(args.fairness_rows)
    window = driftd_fill(y, y_hat, groups)
    tick = timed(window.readings, args.repeat)
    fill = timed(lambda: driftd_fill(y, y_hat, groups), 1)
    learn = timed(lambda: fairlearn_groups(y, y_hat, groups), args.repeat)
    # The two agree (the full oracle tests are in tests/unit/test_fairness_oracle.py).
    frame_ = fairlearn_groups(y, y_hat, groups)
    ours_groups = window.group_metrics()
    for group in ("g1", "g2", "g3"):
        assert abs(ours_groups[group]["accuracy"] - frame_.loc[group, "accuracy"]) < 1e-12
    print(
        f"# {args.rows:,} reference rows vs {args.rows:,} current rows x 23 columns; "
        f"fairness on {args.fairness_rows:,} rows, 3 groups; median of {args.repeat}"
    )
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| work | tool | seconds | time vs driftd |")
    print("|---|---|---:|---:|")
    for work, tool, seconds in rows:
        print(f"| {work} | {tool} | {seconds:.3f} | {seconds / ours:.1f}x |")
    print(f"| fairness by group | driftd {_version()} (readings of a filled window) | {tick:.4f} "
          "| 1.0x |")  # fmt: skip
    print(f"| fairness by group | fairlearn {fairlearn.__version__} MetricFrame | {learn:.4f} | "
          f"{learn / tick:.1f}x |")  # fmt: skip
    print(f"| fairness by group | driftd, filling the window (as the monitor does) | {fill:.3f} | "
          f"{fill / tick:.1f}x |")  # fmt: skip


def _version() -> str:
    from driftd import __version__

    return __version__


if __name__ == "__main__":
    main()
