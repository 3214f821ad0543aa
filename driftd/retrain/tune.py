"""Build the estimator named in the config and retune it on time-ordered folds.

The estimator is anything with fit/predict(_proba), named by import path (a class,
or a factory function returning an estimator or Pipeline). By default it gets a
preprocessing step in front (median imputation and scaling for numeric features, one-hot
for categorical ones) and, when asked, a SelectFromModel step. The search space
is the config's, its keys prefixed for the estimator step.

Search: scikit-learn's HalvingRandomSearchCV ("halving") or a randomized search
("random") that stops starting candidates when the time budget is spent. Folds
come from TimeSeriesSplit over rows in event-time order: validation data is
always newer than the data a candidate was fitted on. n_jobs never exceeds the
machine's cores.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import SelectFromModel
from sklearn.impute import SimpleImputer
from sklearn.model_selection import ParameterSampler, TimeSeriesSplit, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from driftd.config import ModelSpec
from driftd.config.retraining import Range, RetrainSpec
from driftd.retrain.dataset import Frame

STEP = "model"
SCORING = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced_accuracy",
    "f1": "f1_weighted",
    "roc_auc": "roc_auc",
    "mae": "neg_mean_absolute_error",
    "r2": "r2",
}


def import_object(path: str) -> Any:
    module, _, name = path.replace(":", ".").rpartition(".")
    return getattr(importlib.import_module(module), name)


def build_estimator(spec: ModelSpec, retrain: RetrainSpec) -> Any:
    if retrain.estimator.startswith("river."):
        from driftd.retrain.online import RiverModel

        return RiverModel(retrain.estimator, dict(retrain.params) or None)
    target = import_object(retrain.estimator)
    estimator = target(**retrain.params)
    if not retrain.preprocess:
        return estimator
    numeric = [n for n, f in spec.features.items() if f.kind == "numeric"]
    categorical = [n for n, f in spec.features.items() if f.kind != "numeric"]
    numeric_steps = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),  # linear models need it; trees do not mind
        ]
    )
    prep = ColumnTransformer(
        [
            ("num", numeric_steps, numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
        ]
    )
    steps: list[tuple[str, Any]] = [("prep", prep)]
    if retrain.feature_selection:
        steps.append(("select", SelectFromModel(clone(estimator), threshold="median")))
    steps.append((STEP, estimator))
    return Pipeline(steps)


def seeded(estimator: Any, seed: int) -> Any:
    """The estimator with every ``random_state`` left unset (None) set to ``seed``, nested
    steps included, so a run is reproducible from its recorded seed: an unseeded
    HistGradientBoosting draws its early-stopping split anew each fit (holdout accuracy
    0.8960, 0.8967, 0.9019 on one dataset), and a retrain on unchanged data could
    "improve" by noise. A ``random_state`` set in ``params`` is kept."""
    if not hasattr(estimator, "get_params"):
        return estimator
    unset = {name: seed for name, value in estimator.get_params(deep=True).items()
             if name.split("__")[-1] == "random_state" and value is None}  # fmt: skip
    return estimator.set_params(**unset) if unset else estimator


def distributions(retrain: RetrainSpec) -> dict[str, Any]:
    prefix = f"{STEP}__" if retrain.preprocess else ""
    out: dict[str, Any] = {}
    for name, values in retrain.search.space.items():
        if isinstance(values, Range):
            if values.integer:
                out[prefix + name] = stats.randint(int(values.low), int(values.high) + 1)
            elif values.log:
                out[prefix + name] = stats.loguniform(values.low, values.high)
            else:
                out[prefix + name] = stats.uniform(values.low, values.high - values.low)
        else:
            out[prefix + name] = list(values)
    return out


def n_jobs(retrain: RetrainSpec) -> int:
    cores = os.cpu_count() or 1
    return cores if retrain.search.n_jobs <= 0 else min(retrain.search.n_jobs, cores)


def tune(
    spec: ModelSpec,
    retrain: RetrainSpec,
    train: Frame,
    seed: int,
    on_candidate: Callable[[int, int], None] | None = None,
) -> tuple[Any, dict]:
    """Search, refit the best candidate on all training rows; returns (model, results).

    ``on_candidate(done, total)`` follows the budgeted search candidate by candidate
    (halving runs inside scikit-learn and reports only when it is over).
    """
    base = seeded(build_estimator(spec, retrain), seed)
    space = distributions(retrain)
    scoring = SCORING[retrain.gates.metric]
    folds = TimeSeriesSplit(n_splits=retrain.search.splits)
    started = time.perf_counter()
    budget = float(retrain.search.time_budget)
    candidates: list[dict[str, Any]] = []
    if not space:
        best_params: dict[str, Any] = {}
    elif retrain.search.method == "halving":
        from sklearn.experimental import enable_halving_search_cv  # noqa: F401
        from sklearn.model_selection import HalvingRandomSearchCV

        search = HalvingRandomSearchCV(
            base, space, n_candidates=retrain.search.candidates, cv=folds, scoring=scoring,
            random_state=seed, n_jobs=n_jobs(retrain), refit=False, error_score=np.nan,
            min_resources="exhaust",  # the last rung sees all rows, not a few hundred
        )  # fmt: skip
        search.fit(train.X, train.y)
        results = search.cv_results_
        for i, params in enumerate(results["params"]):
            candidates.append({"params": params, "score": float(results["mean_test_score"][i]),
                               "rows": int(results["n_resources"][i])})  # fmt: skip
        best_params = search.best_params_
    elif retrain.search.method == "optuna":
        from driftd.retrain.bayes import optuna_search

        prefix = f"{STEP}__" if retrain.preprocess else ""
        best_params, candidates = optuna_search(base, retrain, prefix, train, folds, scoring,
                                                seed, on_candidate)  # fmt: skip
    else:
        for params in ParameterSampler(space, retrain.search.candidates, random_state=seed):
            if time.perf_counter() - started > budget:
                break
            candidate = clone(base).set_params(**params)
            scores = cross_val_score(candidate, train.X, train.y, cv=folds, scoring=scoring,
                                     n_jobs=n_jobs(retrain), error_score=np.nan)  # fmt: skip
            candidates.append({"params": params, "score": float(np.nanmean(scores)),
                               "rows": len(train)})  # fmt: skip
            if on_candidate is not None:
                on_candidate(len(candidates), retrain.search.candidates)
        finite = [c for c in candidates if np.isfinite(c["score"])]
        if not finite:
            raise RuntimeError("every candidate failed to fit")
        best_params = max(finite, key=lambda c: c["score"])["params"]
    model = clone(base).set_params(**best_params)
    model.fit(train.X, train.y)
    return model, {
        "method": retrain.search.method if space else "none",
        "scoring": scoring,
        "candidates": _plain(candidates),
        "best_params": _plain(best_params),
        "seconds": time.perf_counter() - started,
        "n_jobs": n_jobs(retrain),
        "folds": retrain.search.splits,
    }


def _plain(value: Any) -> Any:
    """numpy scalars to Python, for the JSON report."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
