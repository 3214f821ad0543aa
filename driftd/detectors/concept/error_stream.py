"""Concept drift on the model's error stream, with a held verdict.

The error stream is what the model got wrong, outcome by outcome: 0/1
misclassification, or the absolute error of a regression. A change in it means the
relation between inputs and labels may have moved, whatever the inputs did.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from driftd.detectors import readings as names
from driftd.detectors.base import Detector, OutcomeBatch, RuleTemplate
from driftd.detectors.concept.adwin import ADWIN
from driftd.detectors.concept.ddm import DDM
from driftd.detectors.concept.hddm_a import HDDM_A
from driftd.detectors.concept.page_hinkley import PageHinkley
from driftd.detectors.concept.state import StateDetector
from driftd.detectors.context import ModelContext
from driftd.detectors.readings import Readings

METHODS: dict[str, type[StateDetector]] = {
    "adwin": ADWIN,
    "page_hinkley": PageHinkley,
    "ddm": DDM,
    "hddm_a": HDDM_A,
}


class ConceptDrift:
    """The model's error stream through one detector, with a held verdict.

    A detection is an instant; an alert needs a state. ``concept.drift`` stays 1
    for ``hold`` labeled events after the latest detection, then returns to 0.
    """

    def __init__(self, method: str, params: dict[str, Any], hold: int):
        self.method = method
        self._detector: Any = METHODS[method](**params)
        self._hold = hold
        self._since_detection: int | None = None
        self._detections = 0
        self._seen = 0

    def update(self, error: float) -> bool:
        """One error; True when this one made the detector flag a change."""
        self._seen += 1
        if self._since_detection is not None:
            self._since_detection += 1
        if self._detector.update(error):
            self._detections += 1
            self._since_detection = 0
            return True
        return False

    def readings(self) -> dict[str, float | None]:
        held = self._since_detection is not None and self._since_detection < self._hold
        return {
            names.concept("drift"): float(held),
            names.concept("detections"): float(self._detections),
        }

    @property
    def detections(self) -> int:
        return self._detections

    def snapshot(self) -> dict[str, Any]:
        return {
            "detector": self._detector.snapshot(),
            "since_detection": self._since_detection,
            "detections": self._detections,
            "seen": self._seen,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._detector.restore(state["detector"])
        self._since_detection = state["since_detection"]
        self._detections = state["detections"]
        self._seen = state["seen"]


class ConceptDetector(Detector):
    """``concept.*``: the configured detector (``concept.method``) on the error stream."""

    name = "concept"
    feeds = ("outcomes",)

    def __init__(self, context: ModelContext):
        spec = context.spec.concept
        self._method = spec.method
        self._classification = context.classification
        self.window = f"the error stream ({spec.method})"
        self.concept = ConceptDrift(spec.method, dict(spec.params), spec.hold)

    @classmethod
    def build(cls, context: ModelContext) -> list[Detector]:
        return [cls(context)]

    def update_outcomes(self, batch: OutcomeBatch) -> None:
        if self._classification:
            errors = (batch.y != batch.y_hat).astype(float)
        else:
            errors = np.abs(batch.y - batch.y_hat)
        update = self.concept.update
        for error in errors.tolist():
            update(error)

    def onsets(self) -> int:
        """Every detection asks for an evaluation at once (they are rare)."""
        return self.concept.detections

    def readings(self, now: float | None) -> Readings:
        return self.concept.readings()

    def reading_names(self) -> list[str]:
        return [names.concept("drift"), names.concept("detections")]

    def rule_templates(self) -> list[RuleTemplate]:
        return [RuleTemplate(
            name="concept-drift", metric=names.concept("drift"), op=">=", threshold=1.0,
            severity="warning", hysteresis=0.5,
            description=(
                f"{self._method} detected a change in the model's error rate: "
                "the relation between inputs and labels may have moved."
            ),
        )]  # fmt: skip

    def snapshot(self) -> dict[str, Any]:
        return self.concept.snapshot()

    def restore(self, state: dict[str, Any]) -> None:
        self.concept.restore(state)
