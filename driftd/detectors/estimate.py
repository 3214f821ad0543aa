"""Accuracy before the labels arrive: a CBPE-style expected confusion matrix.

Confidence-based performance estimation (NannyML's CBPE): if the model's scores
are calibrated, a prediction of the positive class with probability p is right
with probability p. Summing those expectations over the predictions still waiting
for their labels gives an expected confusion matrix, hence expected accuracy,
precision, recall and F1, shown next to the realised values.

Scores are calibrated once at start with isotonic regression on the reference's
scores and labels (detectors/calibration.py). The sums are kept incrementally: a
prediction is added when it arrives unlabeled and removed when its label joins or
it expires (its share recomputed from the prediction, the same number), so the
estimate always describes exactly the unlabeled predictions, in O(1) per event.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from driftd.detectors import readings as names
from driftd.detectors.base import Detector, ExpiredBatch, OutcomeBatch, PredictionBatch
from driftd.detectors.calibration import Calibration
from driftd.detectors.context import ModelContext
from driftd.detectors.readings import Readings
from driftd.detectors.records import Outcome, WaitingPrediction


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
        out: dict[str, float | None] = {names.estimated("pending"): float(self._count)}
        if self._count == 0:
            return out
        out[names.estimated("accuracy")] = (tp + tn) / self._count
        out[names.estimated("precision")] = tp / (tp + fp) if tp + fp > 0 else 0.0
        out[names.estimated("recall")] = tp / (tp + fn) if tp + fn > 0 else 0.0
        out[names.estimated("f1")] = 2 * tp / (2 * tp + fp + fn) if tp > 0 else 0.0
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
        out: dict[str, float | None] = {names.estimated("pending"): float(self._count)}
        if self._count:
            out[names.estimated("accuracy")] = self._sum / self._count
        return out

    def snapshot(self) -> dict[str, Any]:
        return {"sum": self._sum, "count": self._count}

    def restore(self, state: dict[str, Any]) -> None:
        self._sum = state["sum"]
        self._count = state["count"]


class EstimateDetector(Detector):
    """``estimated.*``: expected performance of the predictions still waiting for labels."""

    name = "estimate"
    feeds = ("predictions", "outcomes", "expired")

    def __init__(self, estimate: ExpectedConfusion | ExpectedAccuracy):
        self.estimate = estimate

    @classmethod
    def build(cls, context: ModelContext) -> list[Detector]:
        if context.task == "binary":
            return [cls(ExpectedConfusion(context.calibration or Calibration()))]
        if context.task == "multiclass":
            return [cls(ExpectedAccuracy())]
        return []

    def share(self, prediction: WaitingPrediction | Outcome) -> list[float] | None:
        """One prediction's expected counts (None when it carries no usable score)."""
        estimate = self.estimate
        if isinstance(estimate, ExpectedConfusion):
            score = math.nan if prediction.score is None else prediction.score
            return estimate.contribution(prediction.y_hat == 1, score)
        if prediction.proba is None:
            return None
        row = np.asarray(prediction.proba, dtype=float)
        if np.all(np.isfinite(row)) and row.sum() > 0:
            return estimate.contribution(float(row[int(prediction.y_hat)] / row.sum()))
        return None

    def update_predictions(self, batch: PredictionBatch) -> None:
        for record, joined in zip(batch.records, batch.joined, strict=True):
            if not joined and (share := self.share(record)) is not None:
                self.estimate.add(share)

    def update_outcomes(self, batch: OutcomeBatch) -> None:
        for outcome in batch.outcomes:
            if outcome.waited and (share := self.share(outcome)) is not None:
                self.estimate.remove(share)

    def update_expired(self, batch: ExpiredBatch) -> None:
        for record in batch.records:
            if (share := self.share(record)) is not None:
                self.estimate.remove(share)

    def readings(self, now: float | None) -> Readings:
        return self.estimate.readings()

    def reading_names(self) -> list[str]:
        metrics = ["pending", "accuracy"]
        if isinstance(self.estimate, ExpectedConfusion):
            metrics += ["precision", "recall", "f1"]
        return [names.estimated(metric) for metric in metrics]

    def snapshot(self) -> dict[str, Any]:
        return self.estimate.snapshot()

    def restore(self, state: dict[str, Any]) -> None:
        self.estimate.restore(state)
