"""Accuracy before the labels arrive: a CBPE-style expected confusion matrix.

Confidence-based performance estimation (NannyML's CBPE): if the model's scores
are calibrated, a prediction of the positive class with probability p is right
with probability p. Summing those expectations over the predictions still waiting
for their labels gives an expected confusion matrix, hence expected accuracy,
precision, recall and F1, shown next to the realised values.

Scores are calibrated once at start with isotonic regression on the reference's
scores and labels (stored as breakpoints, applied with ``np.interp``). The sums
are kept incrementally: a prediction is added when it arrives and removed when
its label joins or it expires, so the estimate always describes exactly the
unlabeled predictions, in O(1) per event.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression


class Calibration:
    """A monotone map from raw score to P(positive), fitted on the reference."""

    def __init__(self, x: list[float] | None = None, y: list[float] | None = None):
        self._x = np.asarray(x if x is not None else [0.0, 1.0], dtype=float)
        self._y = np.asarray(y if y is not None else [0.0, 1.0], dtype=float)
        self._xs, self._ys = self._x.tolist(), self._y.tolist()

    @classmethod
    def fit(cls, scores: np.ndarray, labels: np.ndarray) -> Calibration:
        keep = np.isfinite(scores)
        if keep.sum() < 2 or len(np.unique(labels[keep])) < 2:
            return cls()
        model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        model.fit(scores[keep], labels[keep])
        return cls(model.X_thresholds_.tolist(), model.y_thresholds_.tolist())

    def __call__(self, score: float) -> float:
        """``np.interp(score, x, y)``, computed in plain Python: one score per
        prediction, where numpy's per-call overhead would be most of the cost."""
        xs, ys = self._xs, self._ys
        if score <= xs[0]:
            return ys[0]
        if score >= xs[-1]:
            return ys[-1]
        j = bisect_right(xs, score) - 1
        slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j])
        return slope * (score - xs[j]) + ys[j]


class ExpectedConfusion:
    """Expected TP/FP/FN/TN over the pending (unlabeled) predictions of a binary model."""

    def __init__(self, calibration: Calibration):
        self.calibration = calibration
        self._sums = [0.0, 0.0, 0.0, 0.0]  # tp, fp, fn, tn
        self._count = 0

    def contribution(self, predicted_positive: bool, score: float) -> list[float] | None:
        """The four expected counts of one prediction, or None if it has no score."""
        if not math.isfinite(score):
            return None
        p = self.calibration(score)
        return [p, 1 - p, 0.0, 0.0] if predicted_positive else [0.0, 0.0, p, 1 - p]

    def add(self, contribution: list[float]) -> None:
        self._count += 1
        sums = self._sums
        for i in range(4):
            sums[i] += contribution[i]

    def remove(self, contribution: list[float]) -> None:
        self._count -= 1
        sums = self._sums
        for i in range(4):
            sums[i] -= contribution[i]
        if self._count == 0:
            self._sums = [0.0, 0.0, 0.0, 0.0]  # no drift of rounding errors

    def readings(self) -> dict[str, float | None]:
        tp, fp, fn, tn = self._sums
        out: dict[str, float | None] = {"estimated.pending": float(self._count)}
        if self._count == 0:
            return out
        out["estimated.accuracy"] = (tp + tn) / self._count
        out["estimated.precision"] = tp / (tp + fp) if tp + fp > 0 else 0.0
        out["estimated.recall"] = tp / (tp + fn) if tp + fn > 0 else 0.0
        out["estimated.f1"] = 2 * tp / (2 * tp + fp + fn) if tp > 0 else 0.0
        return out

    def snapshot(self) -> dict[str, Any]:
        return {"sums": self._sums, "count": self._count}

    def restore(self, state: dict[str, Any]) -> None:
        self._sums = list(state["sums"])
        self._count = state["count"]


class ExpectedAccuracy:
    """Multiclass: expected accuracy is the mean probability of the predicted class."""

    def __init__(self) -> None:
        self._sum = 0.0
        self._count = 0

    def contribution(self, proba_of_predicted: float) -> list[float] | None:
        return [proba_of_predicted] if np.isfinite(proba_of_predicted) else None

    def add(self, contribution: list[float]) -> None:
        self._count += 1
        self._sum += contribution[0]

    def remove(self, contribution: list[float]) -> None:
        self._count -= 1
        self._sum = self._sum - contribution[0] if self._count else 0.0

    def readings(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {"estimated.pending": float(self._count)}
        if self._count:
            out["estimated.accuracy"] = self._sum / self._count
        return out

    def snapshot(self) -> dict[str, Any]:
        return {"sum": self._sum, "count": self._count}

    def restore(self, state: dict[str, Any]) -> None:
        self._sum = state["sum"]
        self._count = state["count"]
