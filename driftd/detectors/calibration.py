"""A monotone map from a model's raw score to P(positive), fitted on the reference.

Isotonic regression on the reference's scores and labels, stored as breakpoints, so
it checkpoints as two short lists; the label-free estimate (detectors/estimate.py)
applies it to the unlabeled predictions' scores, a batch at a time.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import isotonic_regression


class Calibration:
    """A monotone map from raw score to P(positive), fitted on the reference."""

    def __init__(self, x: list[float] | None = None, y: list[float] | None = None):
        self._x = np.asarray(x if x is not None else [0.0, 1.0], dtype=float)
        self._y = np.asarray(y if y is not None else [0.0, 1.0], dtype=float)

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

    def many(self, scores: np.ndarray) -> np.ndarray:
        """P(positive) of each score: the breakpoints interpolated, clipped at both ends."""
        return np.interp(scores, self._x, self._y)
