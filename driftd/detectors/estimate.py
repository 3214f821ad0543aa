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
estimate always describes exactly the unlabeled predictions; a batch's predictions
are added (and removed) as one sum per minute they fall in.

Predictions whose labels are *overdue* are left out: those older than the 99th
percentile of the label delays seen so far (:class:`LabelDelays`; none until 100
delays are seen). A label that never comes would otherwise keep its prediction in
the estimate for the whole join TTL (7 days by default), and after a shift the
estimate would describe last week's traffic. The sums are kept per minute of
prediction time, so leaving out is a filter at each tick; ``estimated.overdue``
counts what was left out, ``estimated.overdue_after_seconds`` says after how long.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from driftd.detectors import readings as names
from driftd.detectors.base import Detector, ExpiredBatch, OutcomeBatch, PredictionBatch
from driftd.detectors.calibration import Calibration
from driftd.detectors.context import ModelContext
from driftd.detectors.readings import Readings
from driftd.detectors.records import Outcome, WaitingPrediction


class LabelDelays:
    """How long labels take, as a histogram on a log scale (1 s to 1 year): a label not
    in after the ``quantile`` of the delays seen so far is *overdue*."""

    EDGES = np.geomspace(1.0, 365 * 86400.0, 241)

    def __init__(self, quantile: float = 0.99, minimum: int = 100):
        self.quantile = quantile
        self.minimum = minimum
        self.counts = np.zeros(len(self.EDGES) + 1, dtype=np.int64)

    def add_many(self, delays: np.ndarray) -> None:
        delays = delays[np.isfinite(delays)]
        if len(delays):
            self.counts += np.bincount(np.searchsorted(self.EDGES, delays),
                                       minlength=len(self.counts))  # fmt: skip

    def overdue_after(self) -> float | None:
        """Seconds after its prediction a label is overdue (None until ``minimum`` delays)."""
        total = int(self.counts.sum())
        if total < self.minimum:
            return None
        index = int(np.searchsorted(np.cumsum(self.counts), self.quantile * total))
        return float(self.EDGES[min(index, len(self.EDGES) - 1)])  # the bin's upper edge


class PendingSums:
    """Expected counts of the predictions waiting for labels, kept per minute of
    prediction time, so predictions whose labels are overdue can be left out."""

    WIDTH = 60.0
    UNDATED = -(2**62)  # checkpoints before 0.9 kept one undated sum

    def __init__(self, size: int):
        self.size = size
        self.buckets: dict[int, list[float]] = {}  # minute -> sums..., count

    def add_many(self, contributions: np.ndarray, event_times: np.ndarray, sign: int = 1) -> None:
        """Add (``sign`` 1) or remove (-1) predictions' expected counts (one row each),
        summed per minute first: one bucket update per minute a batch touches."""
        if not len(contributions):
            return
        keys, inverse = np.unique(np.floor_divide(event_times, self.WIDTH).astype(np.int64),
                                  return_inverse=True)  # fmt: skip
        sums = np.zeros((len(keys), self.size))
        np.add.at(sums, inverse, contributions)
        counts = np.bincount(inverse, minlength=len(keys))
        for key, row, count in zip(keys.tolist(), sums.tolist(), counts.tolist(), strict=True):
            if sign < 0 and key not in self.buckets and self.UNDATED in self.buckets:
                key = self.UNDATED  # waiting since before 0.9: in the undated sum
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = [0.0] * (self.size + 1)
            for i, value in enumerate(row):
                bucket[i] += sign * value
            bucket[self.size] += sign * count
            if bucket[self.size] <= 0:  # empty: dropped, so no rounding errors linger
                del self.buckets[key]

    def totals(self, cutoff: float | None) -> tuple[list[float], int, int]:
        """Sums and count of the predictions not overdue (made after ``cutoff``), and
        how many were left out as overdue."""
        sums, count, overdue = [0.0] * self.size, 0, 0
        for key, bucket in self.buckets.items():
            n = round(bucket[self.size])
            if cutoff is not None and key != self.UNDATED and (key + 1) * self.WIDTH <= cutoff:
                overdue += n
                continue
            for i in range(self.size):
                sums[i] += bucket[i]
            count += n
        return sums, count, overdue

    def snapshot(self) -> list[list[float]]:
        return [[key, *bucket] for key, bucket in self.buckets.items()]

    def restore(self, state: Any) -> None:
        if isinstance(state, dict):  # before 0.9: {"sums"/"sum", "count"}, undated
            sums = state.get("sums", [state.get("sum", 0.0)])
            self.buckets = {self.UNDATED: [*sums, float(state["count"])]} if state["count"] else {}
            return
        self.buckets = {int(row[0]): list(row[1:]) for row in state}


class ExpectedConfusion:
    """Expected TP/FP/FN/TN over the pending (unlabeled) predictions of a binary model."""

    def __init__(self, calibration: Calibration):
        self.calibration = calibration
        self.pending = PendingSums(4)  # tp, fp, fn, tn

    def contributions(self, records: list) -> tuple[np.ndarray, np.ndarray]:
        """The four expected counts (tp, fp, fn, tn) of each record with a score, as
        rows, and which records those are."""
        scores = np.array([r.score for r in records], dtype=float)  # None -> NaN
        scored = np.isfinite(scores)
        p = self.calibration.many(scores[scored])
        positive = np.array([r.y_hat == 1 for r in records], dtype=bool)[scored]
        rows = np.zeros((len(p), 4))  # tp, fp when predicted positive; fn, tn otherwise
        rows[positive, 0], rows[positive, 1] = p[positive], 1 - p[positive]
        rows[~positive, 2], rows[~positive, 3] = p[~positive], 1 - p[~positive]
        return rows, scored

    def readings(self, cutoff: float | None) -> dict[str, float | None]:
        (tp, fp, fn, tn), count, overdue = self.pending.totals(cutoff)
        out: dict[str, float | None] = {names.estimated("pending"): float(count),
                                        names.estimated("overdue"): float(overdue)}  # fmt: skip
        if count == 0:
            return out
        out[names.estimated("accuracy")] = (tp + tn) / count
        out[names.estimated("precision")] = tp / (tp + fp) if tp + fp > 0 else 0.0
        out[names.estimated("recall")] = tp / (tp + fn) if tp + fn > 0 else 0.0
        out[names.estimated("f1")] = 2 * tp / (2 * tp + fp + fn) if tp > 0 else 0.0
        return out


class ExpectedAccuracy:
    """Multiclass: expected accuracy is the mean probability of the predicted class."""

    def __init__(self) -> None:
        self.pending = PendingSums(1)

    def contributions(self, records: list) -> tuple[np.ndarray, np.ndarray]:
        """Each usable record's probability of its predicted class (its row normalised),
        and which records those are (a probability row, finite, summing above 0)."""
        shares = [_share_of_predicted(r) for r in records]
        usable = np.array([s is not None for s in shares], dtype=bool)
        return np.array([s for s in shares if s is not None], dtype=float)[:, None], usable

    def readings(self, cutoff: float | None) -> dict[str, float | None]:
        (total,), count, overdue = self.pending.totals(cutoff)
        out: dict[str, float | None] = {names.estimated("pending"): float(count),
                                        names.estimated("overdue"): float(overdue)}  # fmt: skip
        if count:
            out[names.estimated("accuracy")] = total / count
        return out


class EstimateDetector(Detector):
    """``estimated.*``: expected performance of the predictions still waiting for labels."""

    name = "estimate"
    feeds = ("predictions", "outcomes", "expired")

    def __init__(self, estimate: ExpectedConfusion | ExpectedAccuracy):
        self.estimate = estimate
        self.delays = LabelDelays()

    @classmethod
    def build(cls, context: ModelContext) -> list[Detector]:
        if context.task == "binary":
            return [cls(ExpectedConfusion(context.calibration or Calibration()))]
        if context.task == "multiclass":
            return [cls(ExpectedAccuracy())]
        return []

    def _pend(self, records: list, sign: int) -> None:
        """Add (1) or remove (-1) the records' expected counts, a batch at a time."""
        if not records:
            return
        rows, usable = self.estimate.contributions(records)
        times = np.array([r.event_time for r in records], dtype=float)[usable]
        self.estimate.pending.add_many(rows, times, sign)

    def update_predictions(self, batch: PredictionBatch) -> None:
        self._pend([r for r, joined in zip(batch.records, batch.joined, strict=True)
                    if not joined], 1)  # fmt: skip

    def update_outcomes(self, batch: OutcomeBatch) -> None:
        waited = [o for o in batch.outcomes if o.waited]
        self.delays.add_many(np.array([o.label_time - o.event_time for o in waited]))
        self._pend(waited, -1)

    def update_expired(self, batch: ExpiredBatch) -> None:
        self._pend(batch.records, -1)

    def readings(self, now: float | None) -> Readings:
        after = self.delays.overdue_after()
        cutoff = None if now is None or after is None else now - after
        out = self.estimate.readings(cutoff)
        out[names.estimated("overdue_after_seconds")] = after
        return out

    def reading_names(self) -> list[str]:
        metrics = ["pending", "overdue", "overdue_after_seconds", "accuracy"]
        if isinstance(self.estimate, ExpectedConfusion):
            metrics += ["precision", "recall", "f1"]
        return [names.estimated(metric) for metric in metrics]

    def snapshot(self) -> dict[str, Any]:
        return {"pending": self.estimate.pending.snapshot(),
                "delays": self.delays.counts.tolist()}  # fmt: skip

    def merge(self, states: list[Any]) -> dict[str, Any] | None:
        """Pending sums added per minute, label delays per bin: both are sums."""
        buckets: dict[int, list[float]] = {}
        for state in states:
            for key, *sums in state["pending"]:
                bucket = buckets.setdefault(int(key), [0.0] * len(sums))
                for i, value in enumerate(sums):
                    bucket[i] += value
        delays = np.sum([state["delays"] for state in states], axis=0, dtype=np.int64)
        return {"pending": [[key, *bucket] for key, bucket in buckets.items()],
                "delays": delays.tolist()}  # fmt: skip

    def restore(self, state: dict[str, Any]) -> None:
        if "pending" not in state:  # before 0.9: the undated sums alone
            self.estimate.pending.restore(state)
            return
        self.estimate.pending.restore(state["pending"])
        self.delays.counts = np.array(state["delays"], dtype=np.int64)


def _share_of_predicted(prediction: WaitingPrediction | Outcome) -> float | None:
    """A multiclass prediction's probability of its predicted class, its row normalised
    (None without a usable row: absent, not finite, or summing to 0)."""
    if prediction.proba is None:
        return None
    row = np.asarray(prediction.proba, dtype=float)
    if np.all(np.isfinite(row)) and row.sum() > 0:
        return float(row[int(prediction.y_hat)] / row.sum())
    return None
