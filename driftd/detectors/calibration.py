"""A monotone map from a model's raw score to P(positive), fitted on the reference.

Isotonic regression on the reference's scores and labels, stored as breakpoints, so
it checkpoints as two short lists; the label-free estimate (detectors/estimate.py)
applies it to each unlabeled prediction's score.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np
from scipy.optimize import isotonic_regression


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
        # scikit-learn's IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip") and
        # its predictions (tested equal), with scipy's pool-adjacent-violators: equal
        # scores pooled first (their mean label, weighted by their count), then the fit,
        # then the clip. Not sklearn itself: importing it (and pandas with it) cost every
        # `driftd replay` ~0.9 s of start-up.
        x, inverse, counts = np.unique(scores[keep], return_inverse=True, return_counts=True)
        means = np.bincount(inverse, weights=labels[keep].astype(float)) / counts
        fitted = np.clip(isotonic_regression(means, weights=counts.astype(float)).x, 0.0, 1.0)
        return cls(x.tolist(), fitted.tolist())

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
