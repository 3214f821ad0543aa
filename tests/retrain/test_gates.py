"""The gates on controlled predictions: better must be proven, fairness must not worsen."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.tree import DecisionTreeClassifier

from driftd.config.retraining import GatesSpec
from driftd.retrain.dataset import Frame
from driftd.retrain.gates import group_gaps, judge, paired_bootstrap

N = 2000


def holdout(seed: int = 0) -> Frame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"row": np.arange(N, dtype=float)})  # unique: a tree can memorise
    y = rng.integers(0, 2, N)
    groups = pd.DataFrame({"sex": np.where(np.arange(N) % 2 == 0, "f", "m")})
    return Frame(X=X, y=y, t=np.arange(N, dtype=float), groups=groups, weight=np.ones(N))


def predictor(frame: Frame, accuracy_f: float, accuracy_m: float, seed: int):
    """A real sklearn model that answers with the chosen accuracy per group."""
    rng = np.random.default_rng(seed)
    female = frame.groups["sex"].to_numpy() == "f"
    right = np.where(female, rng.random(N) < accuracy_f, rng.random(N) < accuracy_m)
    answers = np.where(right, frame.y, 1 - frame.y)
    return DecisionTreeClassifier().fit(frame.X, answers)


def test_a_worse_challenger_is_not_promoted():
    frame = holdout()
    champion = predictor(frame, 0.85, 0.85, 1)
    challenger = predictor(frame, 0.82, 0.82, 2)
    verdict = judge(GatesSpec(bootstrap=500), "binary", 1, frame, None, challenger, champion, 0)
    assert not verdict["passed"] and not verdict["verdicts"]["better"]["passed"]
    assert verdict["verdicts"]["better"]["interval"]["high"] < 0


def test_a_more_accurate_but_less_fair_challenger_is_not_promoted():
    frame = holdout()
    champion = predictor(frame, 0.80, 0.80, 1)
    challenger = predictor(frame, 0.97, 0.72, 2)  # accuracy 0.845, but a 25-point gap
    verdict = judge(GatesSpec(bootstrap=500), "binary", 1, frame, None, challenger, champion, 0)
    assert verdict["verdicts"]["better"]["passed"]  # it is more accurate ...
    assert not verdict["verdicts"]["fairness"]["passed"]  # ... and less fair
    assert not verdict["passed"]
    gaps = verdict["verdicts"]["fairness"]["challenger"]
    assert gaps["sex.accuracy_difference"] == pytest.approx(0.25, abs=0.04)


def test_a_better_and_as_fair_challenger_passes():
    frame = holdout()
    champion = predictor(frame, 0.80, 0.80, 1)
    challenger = predictor(frame, 0.88, 0.88, 2)
    verdict = judge(GatesSpec(bootstrap=500, latency_factor=10, size_factor=10), "binary", 1,
                    frame, None, challenger, champion, 0)  # fmt: skip
    assert verdict["passed"], verdict["verdicts"]


def test_paired_bootstrap_covers_the_true_difference():
    """Against the plain difference on the full sample, and its sign convention for MAE."""
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 5000)
    a = np.where(rng.random(5000) < 0.9, y, 1 - y)
    b = np.where(rng.random(5000) < 0.85, y, 1 - y)
    ci = paired_bootstrap("accuracy", y, (a, None), (b, None), 500, 0.95, 0)
    observed = np.mean(a == y) - np.mean(b == y)
    assert ci["low"] < observed < ci["high"] and ci["low"] > 0
    errors = paired_bootstrap("mae", y.astype(float), (a, None), (b, None), 200, 0.95, 0)
    assert errors["low"] > 0  # fewer errors is better: positive


def test_group_gaps_equal_fairlearn():
    from fairlearn.metrics import MetricFrame, demographic_parity_difference
    from sklearn.metrics import accuracy_score

    frame = holdout(7)
    y_hat = predictor(frame, 0.9, 0.7, 3).predict(frame.X)
    gaps = group_gaps(frame, y_hat, "binary", 1)
    sex = frame.groups["sex"]
    by_group = MetricFrame(metrics=accuracy_score, y_true=frame.y, y_pred=y_hat,
                           sensitive_features=sex).difference()  # fmt: skip
    assert gaps["sex.accuracy_difference"] == pytest.approx(by_group, abs=1e-12)
    dp = demographic_parity_difference(frame.y, y_hat, sensitive_features=sex)
    assert gaps["sex.demographic_parity_difference"] == pytest.approx(dp, abs=1e-12)


class _Costly:
    """A model whose predict costs ``work`` units of CPU, and which during a burst of
    load on the machine (the first ``burst`` calls made to any model) also waits, the
    way a process waits for a core while others run."""

    calls = 0

    def __init__(self, work: int, burst: int = 0):
        self.work, self.burst = work, burst

    def predict(self, X):
        _Costly.calls += 1
        if _Costly.calls <= self.burst:
            time.sleep(0.05)  # waiting, not computing
        sum(i * i for i in range(self.work))
        return np.zeros(len(X))


def test_latency_counts_the_models_cpu_not_the_wait_for_a_busy_machine():
    from driftd.retrain.gates import paired_latency

    _Costly.calls = 0
    new, old = paired_latency(_Costly(30_000, burst=3), _Costly(30_000, burst=3),
                              np.zeros((10, 2)))  # fmt: skip
    assert 0.5 < new / old < 2.0  # the default gate is x2: equal models pass it
    _Costly.calls = 0
    new, old = paired_latency(_Costly(120_000), _Costly(30_000), np.zeros((10, 2)))
    assert new / old > 2.0  # a model four times as costly fails it
