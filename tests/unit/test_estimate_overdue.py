"""The label-free estimate leaves out predictions whose labels are overdue, so it follows
a shift instead of describing last week's unlabeled traffic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from driftd.detectors.base import ExpiredBatch, OutcomeBatch, PredictionBatch
from driftd.detectors.calibration import Calibration
from driftd.detectors.estimate import EstimateDetector, ExpectedConfusion, LabelDelays
from driftd.detectors.records import Outcome, WaitingPrediction


def test_the_overdue_time_is_the_delays_quantile():
    """Oracle: numpy's 99th percentile of the same delays; the histogram's answer is the
    upper edge of its bin, at most one bin (7.5% wide) above it."""
    rng = np.random.default_rng(0)
    delays = rng.lognormal(7, 1, 5000)
    histogram = LabelDelays()
    assert LabelDelays().overdue_after() is None
    histogram.add_many(delays)
    exact = np.quantile(delays, 0.99)
    step = LabelDelays.EDGES[1] / LabelDelays.EDGES[0]
    assert exact <= histogram.overdue_after() <= exact * step


def _stream(rng, n: int, accuracy_drop_at: int):
    """Scores calibrated by construction; after ``accuracy_drop_at`` the labels stop
    following the scores (accuracy falls to ~0.5); 10% of labels never come, the rest
    after 10-100 s; one prediction per second."""
    detector = EstimateDetector(ExpectedConfusion(Calibration()))
    records, labels = [], {}
    for i in range(n):
        score = float(rng.random())
        record = WaitingPrediction(event_time=float(i), y_hat=float(score >= 0.5), score=score)
        records.append(record)
        y = float(rng.random() < (score if i < accuracy_drop_at else 0.5))
        if rng.random() >= 0.1:
            labels.setdefault(i + int(rng.integers(10, 101)), []).append((i, y))
    return detector, records, labels


def test_never_labelled_predictions_leave_the_estimate_once_overdue():
    rng = np.random.default_rng(3)
    n = 20_000
    detector, records, labels = _stream(rng, n, accuracy_drop_at=n)
    pending: dict[int, WaitingPrediction] = {}
    for t in range(n):
        record = records[t]
        detector.update_predictions(PredictionBatch([None], [record], [False], None))  # type: ignore[list-item]
        pending[t] = record
        joined = [Outcome.of(pending.pop(i), y, waited=True, label_time=float(t))
                  for i, y in labels.pop(t, [])]  # fmt: skip
        if joined:
            detector.update_outcomes(OutcomeBatch(joined))
    readings = detector.readings(float(n))
    after = readings["estimated.overdue_after_seconds"]
    assert 90 <= after <= 110  # the delays are 10-100 s
    # Oracle: the expected accuracy of the pending predictions younger than the cutoff,
    # computed directly (identity calibration: p = score), to the minute the sums keep.
    cutoff = n - after
    young = [r for t, r in pending.items() if (t // 60 + 1) * 60 > cutoff]
    p = np.array([r.score for r in young])
    expected = np.mean(np.where(np.array([r.y_hat for r in young]) == 1, p, 1 - p))
    assert readings["estimated.pending"] == len(young)
    assert readings["estimated.overdue"] == len(pending) - len(young) > 1500  # ~10% of 20k
    assert readings["estimated.accuracy"] == pytest.approx(expected, abs=1e-9)
    # expiry removes the overdue ones for good, without double counting
    old = [r for t, r in pending.items() if t < n - 1000]
    detector.update_expired(ExpiredBatch(old))
    overdue = detector.readings(float(n))["estimated.overdue"]
    assert overdue == readings["estimated.overdue"] - len(old)


def test_old_checkpoints_load_as_undated_sums():
    detector = EstimateDetector(ExpectedConfusion(Calibration()))
    detector.restore({"sums": [3.0, 1.0, 0.5, 0.5], "count": 5})
    readings = detector.readings(1e9)
    assert readings["estimated.pending"] == 5 and readings["estimated.overdue"] == 0
    assert math.isclose(readings["estimated.accuracy"], 3.5 / 5)
