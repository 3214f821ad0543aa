"""An example detector (docs/extending.md walks through it): the positive-prediction rate.

A binary model's share of positive predictions over its last ``window`` predictions,
with a Wilson score interval, so the rule it proposes fires on evidence (the whole
interval above the reference's rate plus a margin), never on a point estimate
crossing a line. Tested against scipy's ``binomtest(...).proportion_ci("wilson")``
in tests/unit/test_extending_example.py.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from driftd.detectors.base import Detector, PredictionBatch, RuleTemplate
from driftd.detectors.context import ModelContext
from driftd.detectors.readings import Readings
from driftd.detectors.ring import RingBuffer

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile


def wilson(positives: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion."""
    p = positives / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


class PositiveRate(Detector):
    """``positive_rate.*``: the share of positive predictions, with its interval."""

    name = "positive_rate"
    feeds = ("predictions",)

    def __init__(self, window: int, reference_rate: float | None):
        self.window = f"last {window} predictions"
        self._positive = RingBuffer(window, np.int8)
        self._reference_rate = reference_rate

    @classmethod
    def build(cls, context: ModelContext) -> list[Detector]:
        if context.task != "binary":
            return []  # a positive class exists only in binary models
        reference = context.reference_spec
        predictions = context.reference_column(reference.prediction_column if reference else None)
        rate = None
        if predictions is not None and len(predictions):
            rate = float(np.mean(predictions == context.class_names[1]))
        return [cls(context.spec.drift.window, rate)]

    def update_predictions(self, batch: PredictionBatch) -> None:
        self._positive.extend(np.array([r.y_hat == 1 for r in batch.records], dtype=np.int8))

    def readings(self, now: float | None) -> Readings:
        values = self._positive.values()
        out: Readings = {"positive_rate.samples": float(len(values))}
        if len(values):
            low, high = wilson(int(values.sum()), len(values))
            out.update({"positive_rate": float(values.mean()), "positive_rate.low": low,
                        "positive_rate.high": high})  # fmt: skip
        return out

    def reading_names(self) -> list[str]:
        return ["positive_rate", "positive_rate.low", "positive_rate.high",
                "positive_rate.samples"]  # fmt: skip

    def rule_templates(self) -> list[RuleTemplate]:
        if self._reference_rate is None:
            return []
        threshold = round(self._reference_rate + 0.1, 6)
        return [RuleTemplate(
            name="positive-rate-up", metric="positive_rate.low", op=">", threshold=threshold,
            severity="warning", hysteresis=0.02,
            description="Even the low end of the positive-prediction rate's 95% interval is "
            f"more than 0.1 above the reference's {self._reference_rate:.3f}.",
        )]  # fmt: skip

    def snapshot(self) -> Any:
        return self._positive.snapshot()

    def restore(self, state: Any) -> None:
        self._positive.restore(state)
