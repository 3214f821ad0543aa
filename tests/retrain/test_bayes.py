"""The Optuna (TPE) search: scored like the other methods (an oracle: scikit-learn's own
cross-validation of the chosen parameters on the same time-ordered folds), pruned fold
by fold, and reproducible from its seed."""

from __future__ import annotations

import numpy as np
import pytest
from retrain.helpers import config_text, draw, write_reference
from sklearn.model_selection import TimeSeriesSplit, cross_val_score

from driftd.config import load_config
from driftd.retrain.dataset import live_frame
from driftd.retrain.tune import build_estimator, seeded, tune

pytestmark = pytest.mark.slow

SEARCH = ("{method: optuna, candidates: 14, splits: 4, space: {learning_rate: {low: 0.001, "
          "high: 0.5, log: true}, max_leaf_nodes: [3, 15, 63], max_iter: [5, 40]}}")  # fmt: skip


def _setup(tmp_path):
    path = tmp_path / "driftd.yaml"
    path.write_text(config_text(write_reference(tmp_path / "reference.csv"), tmp_path / "s",
                                estimator="sklearn.ensemble.HistGradientBoostingClassifier",
                                params="{}", search=SEARCH))  # fmt: skip
    spec = load_config(path).models["credit"]
    rows = [{"t": 1.8e9 + i, "x": {"x1": r.x1, "x2": r.x2, "color": r.color},
             "a": {"sex": r.sex}, "y": int(r.label)}
            for i, r in enumerate(draw(3000, shifted=True, seed=40).itertuples())]  # fmt: skip
    return spec, live_frame(spec, rows)


def test_the_optuna_search_scores_like_scikit_learn_prunes_and_repeats_from_its_seed(tmp_path):
    spec, train = _setup(tmp_path)
    model, search = tune(spec, spec.retrain, train, seed=7)
    again_model, again = tune(spec, spec.retrain, train, seed=7)
    assert search["method"] == "optuna" and len(search["candidates"]) == 14
    assert [c["params"] for c in search["candidates"]] == [c["params"] for c in again["candidates"]]
    assert search["best_params"] == again["best_params"]
    X = train.X.iloc[:200]
    assert (model.predict_proba(X) == again_model.predict_proba(X)).all()
    pruned = [c for c in search["candidates"] if c.get("pruned")]
    assert pruned and all(c["folds"] < 4 for c in pruned)  # stopped before the last fold
    # Oracle: the best candidate's score is scikit-learn's cross-validation of it.
    full = [c for c in search["candidates"] if not c.get("pruned")]
    best = max(full, key=lambda c: c["score"])
    assert best["params"] == search["best_params"]
    candidate = seeded(build_estimator(spec, spec.retrain), 7).set_params(**best["params"])
    oracle = cross_val_score(candidate, train.X, train.y, cv=TimeSeriesSplit(n_splits=4),
                             scoring="accuracy")  # fmt: skip
    assert best["score"] == pytest.approx(float(np.mean(oracle)), abs=1e-12)
    _, different = tune(spec, spec.retrain, train, seed=8)
    assert [c["params"] for c in different["candidates"]] != [c["params"] for c in
                                                              search["candidates"]]
