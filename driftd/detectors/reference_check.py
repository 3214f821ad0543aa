"""Does the reference look in-sample? A check for `driftd config check`.

Predictions scored on the rows a model was trained on look better than production
will ever be: an accuracy rule anchored there fires on unchanged data (issue 14 saw
14 critical alerts). The tell: in-sample predictions are right more often than their
own scores say. A binary reference with scores gives both sides: each row's chance
of being right by its score (``p`` for a positive prediction, ``1 - p`` for a
negative one) sums to the accuracy the scores claim, with a Poisson-binomial
variance; the realised count far above it (``Z`` standard deviations) is the
warning. Under-confident scores look the same, and the message says so: the default
accuracy alert takes its baseline from production's burn-in either way, but drift
baselines and the reference's own metrics are only honest on held-out rows.
"""

from __future__ import annotations

import math

import numpy as np
from msgspec import Struct

from driftd.detectors.context import ModelContext

Z = 4.0  # standard deviations: a false warning about once in 30,000 honest references
MARGIN = 0.02  # and at least this much accuracy above the claim


class InSample(Struct, frozen=True):
    accuracy: float  # realised on the reference
    claimed: float  # by the reference's own scores
    z: float

    def message(self, model_id: str) -> str:
        return (
            f"models.{model_id}.reference: its predictions are right more often than their "
            f"scores say ({self.accuracy:.3f} against {self.claimed:.3f}, {self.z:.0f} "
            "standard deviations): predictions made on the training rows (in-sample) look "
            "like this, and so do under-confident scores. The accuracy alert takes its "
            "baseline from production's first labeled predictions either way; score a "
            "held-out split for an honest reference."
        )


def in_sample_evidence(context: ModelContext) -> InSample | None:
    """The evidence that a binary reference with scores is in-sample, or None."""
    spec = context.reference_spec
    if context.task != "binary" or spec is None:
        return None
    columns = [context.reference_column(c) for c in
               (spec.label_column, spec.prediction_column, spec.score_column)]  # fmt: skip
    if any(c is None for c in columns):
        return None
    labels, predictions, scores = columns
    positive = context.class_names[1]
    y = np.array([str(v) == positive for v in labels])  # type: ignore[union-attr]
    y_hat = np.array([str(v) == positive for v in predictions])  # type: ignore[union-attr]
    p = np.asarray(scores, dtype=float)
    keep = np.isfinite(p) & (p >= 0) & (p <= 1)
    y, y_hat, p = y[keep], y_hat[keep], p[keep]
    if len(p) < 100:
        return None
    right = np.where(y_hat, p, 1 - p)  # each row's chance of being right, by its score
    variance = float(np.sum(right * (1 - right)))
    accuracy, claimed = float(np.mean(y == y_hat)), float(np.mean(right))
    z = (accuracy - claimed) * len(p) / math.sqrt(variance) if variance > 0 else math.inf
    if z > Z and accuracy - claimed > MARGIN:
        return InSample(accuracy, claimed, z)
    return None
