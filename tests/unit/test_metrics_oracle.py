"""Performance metrics against scikit-learn on the same rows (tolerance 1e-9)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from driftd.detectors.performance import PerformanceWindow
from driftd.detectors.records import Outcome
from driftd.detectors.tumbling import TumblingPerformance, binned_auc

TOL = 1e-9


def _window(task, names, y, y_hat, score=None, proba=None, size=None):
    window = PerformanceWindow(task, names, size or max(len(y), 2))
    if proba is not None:
        scores = np.asarray(proba, float)
    else:
        scores = np.full(len(y), np.nan) if score is None else np.asarray(score, float)
    window.update_many(np.asarray(y, float), np.asarray(y_hat, float), scores)
    return window.readings()


def _check_binary(y, y_hat, score):
    got = _window("binary", ["0", "1"], y, y_hat, score)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, y_hat), abs=TOL)
    assert got["precision"] == pytest.approx(
        skm.precision_score(y, y_hat, zero_division=0), abs=TOL
    )
    assert got["recall"] == pytest.approx(skm.recall_score(y, y_hat, zero_division=0), abs=TOL)
    assert got["f1"] == pytest.approx(skm.f1_score(y, y_hat, zero_division=0), abs=TOL)
    assert got["brier"] == pytest.approx(skm.brier_score_loss(y, score, pos_label=1), abs=TOL)
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, score, labels=[0, 1]), abs=TOL)
    if len(set(y)) == 2:
        assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, score), abs=TOL)
    else:
        assert got["roc_auc"] is None  # sklearn raises: undefined with one class


def test_binary_generated():
    rng = np.random.default_rng(1)
    for n in (2, 17, 500):
        score = rng.random(n).round(2)  # rounding creates ties, which AUC must handle
        y = (rng.random(n) < score).astype(int)
        _check_binary(y, (score >= 0.5).astype(int), score)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.integers(0, 1), st.floats(0, 1)), min_size=1, max_size=80
    )
)
def test_binary_hypothesis(rows):
    y, y_hat, score = (np.array(col) for col in zip(*rows, strict=True))
    _check_binary(y.astype(int), y_hat.astype(int), score.astype(float))


def test_single_class_and_empty_window():
    y = np.ones(10, dtype=int)
    _check_binary(y, np.zeros(10, dtype=int), np.full(10, 0.3))
    empty = PerformanceWindow("binary", ["0", "1"], 10).readings()
    assert empty == {"labeled": 0.0}


def test_window_keeps_only_last_n():
    rng = np.random.default_rng(2)
    y, score = rng.integers(0, 2, 300), rng.random(300)
    y_hat = (score > 0.5).astype(int)
    got = _window("binary", ["0", "1"], y, y_hat, score, size=100)
    assert got["labeled"] == 100
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y[-100:], score[-100:]), abs=TOL)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y[-100:], y_hat[-100:]), abs=TOL)


def test_multiclass_against_sklearn():
    rng = np.random.default_rng(3)
    names = ["a", "b", "c"]
    proba = rng.dirichlet([1, 1, 1], 400)
    y = np.array([rng.choice(3, p=p) for p in proba])
    y_hat = proba.argmax(axis=1)
    got = _window("multiclass", names, y, y_hat, proba=proba)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, y_hat), abs=TOL)
    for avg_key, fn in (
        ("precision", skm.precision_score),
        ("recall", skm.recall_score),
        ("f1", skm.f1_score),
    ):
        assert got[avg_key] == pytest.approx(
            fn(y, y_hat, average="macro", zero_division=0), abs=TOL
        )
        per_class = fn(y, y_hat, average=None, labels=[0, 1, 2], zero_division=0)
        for i, name in enumerate(names):
            assert got[f"{avg_key}.{name}"] == pytest.approx(per_class[i], abs=TOL)
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=[0, 1, 2]), abs=TOL)
    for i, name in enumerate(names):
        assert got[f"roc_auc.{name}"] == pytest.approx(
            skm.roc_auc_score(y == i, proba[:, i]), abs=TOL
        )


def test_regression_against_sklearn():
    rng = np.random.default_rng(4)
    y = rng.normal(10, 3, 250)
    y_hat = y + rng.normal(0, 1, 250)
    got = _window("regression", [], y, y_hat)
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, y_hat), abs=TOL)
    assert got["rmse"] == pytest.approx(skm.root_mean_squared_error(y, y_hat), abs=TOL)
    assert got["r2"] == pytest.approx(skm.r2_score(y, y_hat), abs=TOL)
    constant = _window("regression", [], np.full(5, 2.0), np.arange(5.0))
    assert constant["r2"] is None


def _tumbling(task, names, y, y_hat, times, score=None, proba=None, length=100.0):
    tumbling = TumblingPerformance(task, names, length)
    for i in range(len(y)):
        tumbling.update(Outcome(
            event_time=times[i], y=y[i], y_hat=y_hat[i],
            score=float("nan") if score is None else score[i],
            proba=None if proba is None else proba[i],
        ))  # fmt: skip
    return tumbling


def test_tumbling_binary_exact_metrics_and_bounded_auc():
    rng = np.random.default_rng(5)
    n = 3000
    times = rng.uniform(0, 300, n)  # three windows, arriving out of order
    score = rng.random(n)
    y = (rng.random(n) < score).astype(int)
    y_hat = (score > 0.5).astype(int)
    tumbling = _tumbling("binary", ["0", "1"], y, y_hat, times, score)
    got = tumbling.readings()
    assert got["tumbling.window_start"] == 100.0  # the newest closed window
    mask = (times >= 100) & (times < 200)
    ys, ps, hs = y[mask], score[mask], y_hat[mask]
    assert got["tumbling.accuracy"] == pytest.approx(skm.accuracy_score(ys, hs), abs=TOL)
    assert got["tumbling.f1"] == pytest.approx(skm.f1_score(ys, hs), abs=TOL)
    assert got["tumbling.log_loss"] == pytest.approx(skm.log_loss(ys, ps), abs=TOL)
    assert got["tumbling.brier"] == pytest.approx(skm.brier_score_loss(ys, ps), abs=TOL)
    exact = skm.roc_auc_score(ys, ps)
    assert abs(got["tumbling.roc_auc"] - exact) <= got["tumbling.roc_auc_error_bound"]
    assert got["tumbling.roc_auc_error_bound"] < 0.01


def test_binned_auc_bound_holds_on_adversarial_ties():
    rng = np.random.default_rng(6)
    for _ in range(50):
        n = 200
        score = rng.choice([0.1, 0.1001, 0.5, 0.5004, 0.9], n)  # many pairs share a bin
        y = rng.integers(0, 2, n)
        if len(set(y)) < 2:
            continue
        bins = 200
        col = np.minimum((score * bins).astype(int), bins - 1)
        pos = np.bincount(col[y == 1], minlength=bins)
        neg = np.bincount(col[y == 0], minlength=bins)
        auc, bound = binned_auc(pos, neg)
        assert abs(auc - skm.roc_auc_score(y, score)) <= bound + 1e-12


def test_tumbling_regression_and_multiclass():
    rng = np.random.default_rng(7)
    n = 1000
    times = rng.uniform(0, 200, n)
    y = rng.normal(0, 2, n)
    y_hat = y + rng.normal(0, 0.5, n)
    got = _tumbling("regression", [], y, y_hat, times).readings()
    mask = times < 100
    assert got["tumbling.mae"] == pytest.approx(
        skm.mean_absolute_error(y[mask], y_hat[mask]), abs=TOL
    )
    assert got["tumbling.rmse"] == pytest.approx(
        skm.root_mean_squared_error(y[mask], y_hat[mask]), abs=TOL
    )
    assert got["tumbling.r2"] == pytest.approx(skm.r2_score(y[mask], y_hat[mask]), abs=TOL)
    proba = rng.dirichlet([1, 1, 1], n)
    yc = np.array([rng.choice(3, p=p) for p in proba])
    hc = proba.argmax(axis=1)
    got = _tumbling("multiclass", ["a", "b", "c"], yc, hc, times, proba=proba).readings()
    assert got["tumbling.accuracy"] == pytest.approx(
        skm.accuracy_score(yc[mask], hc[mask]), abs=TOL
    )
    assert got["tumbling.f1"] == pytest.approx(
        skm.f1_score(yc[mask], hc[mask], average="macro"), abs=TOL
    )
    assert got["tumbling.log_loss"] == pytest.approx(
        skm.log_loss(yc[mask], proba[mask], labels=[0, 1, 2]), abs=TOL
    )


def test_snapshot_restore_round_trip_through_json():
    import msgspec

    rng = np.random.default_rng(8)
    window = PerformanceWindow("binary", ["0", "1"], 50)
    tumbling = TumblingPerformance("binary", ["0", "1"], 10.0)
    for i in range(120):
        o = Outcome(
            event_time=float(i),
            y=int(rng.integers(2)),
            y_hat=int(rng.integers(2)),
            score=float("nan") if i % 7 == 0 else float(rng.random()),
        )
        window.update_many(np.array([o.y], float), np.array([o.y_hat], float),
                           np.array([o.score]))  # fmt: skip
        tumbling.update(o)
    copy_w = PerformanceWindow("binary", ["0", "1"], 50)
    copy_w.restore(msgspec.json.decode(msgspec.json.encode(window.snapshot())))
    copy_t = TumblingPerformance("binary", ["0", "1"], 10.0)
    copy_t.restore(msgspec.json.decode(msgspec.json.encode(tumbling.snapshot())))
    assert copy_w.readings() == window.readings()
    assert copy_t.readings() == tumbling.readings()


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_tumbling_batches_count_as_outcomes_one_by_one(task):
    """A batch counts as its outcomes one at a time: the same windows opened and closed
    (3 kept: late outcomes dropped), counts exactly, loss sums to rounding."""
    rng = np.random.default_rng(9)
    n, names = 4000, (["0", "1"] if task == "binary" else ["a", "b", "c"])
    times = np.sort(rng.uniform(0, 1000, n)) + rng.normal(0, 30, n)  # late by up to ~100
    y = rng.integers(0, len(names), n)
    score = np.where(rng.random(n) < 0.1, np.nan, rng.random(n))
    proba = rng.dirichlet(np.ones(len(names)), n)
    proba[rng.random(n) < 0.1, 0] = np.nan
    outcomes = [Outcome(event_time=float(times[i]), y=float(y[i]), y_hat=float(rng.integers(
        0, len(names))), score=float(score[i]), proba=proba[i].tolist() if i % 9 else None)
        for i in range(n)]  # fmt: skip
    one, many = (TumblingPerformance(task, names, 100.0, keep=3) for _ in range(2))
    for outcome in outcomes:
        one.update(outcome)
    for start in range(0, n, 97):
        many.update_many(outcomes[start : start + 97])
    a, b = one.snapshot(), many.snapshot()
    assert [s for s, _ in a["windows"]] == [s for s, _ in b["windows"]] and len(a["windows"]) == 3
    for (_, x), (_, z) in zip(a["windows"], b["windows"], strict=True):
        assert (x["cm"], x["auc_pos"], x["auc_neg"], x["n_scored"]) == (
            z["cm"], z["auc_pos"], z["auc_neg"], z["n_scored"])  # fmt: skip
        assert x["loss_sum"] == pytest.approx(z["loss_sum"], rel=1e-12)
        assert x["brier_sum"] == pytest.approx(z["brier_sum"], rel=1e-12)
    assert sum(sum(map(sum, w["cm"])) for _, w in a["windows"]) > 500
