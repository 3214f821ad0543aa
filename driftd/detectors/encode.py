"""Typed events into what the detectors compute with, once per event.

Classes become indices into the model's class list (binary: 1 is the positive
class), the binary score is read as the positive class's probability, a multiclass
score becomes a probability row in class order, sensitive attributes become text.
An event that is valid JSON but cannot be used (a class the model does not have, a
regression value that is not a finite number) raises :class:`RejectedEvent`, which
the pipeline turns into a dead letter.
"""

from __future__ import annotations

import math
from typing import Any

from driftd.detectors.context import ModelContext
from driftd.detectors.records import TrainingInputs, WaitingPrediction
from driftd.events import Label, Prediction
from driftd.values import as_number, category_text


class RejectedEvent(Exception):
    """An event that is well-formed JSON but cannot be used; becomes a dead letter."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Encoder:
    def __init__(self, context: ModelContext, keep_inputs: bool = False):
        """``keep_inputs``: keep each prediction's raw inputs until its label joins
        (the training rows of a model that retrains)."""
        self._context = context
        self._spec = context.spec
        self._classification = context.classification
        self._binary = context.task == "binary"
        self.class_names = context.class_names
        self._class_index = {name: i for i, name in enumerate(context.class_names)}
        self._keep_inputs = keep_inputs

    def _class_of(self, value: Any, what: str) -> int:
        index = self._class_index.get(category_text(value))
        if index is None:
            raise RejectedEvent(
                "unknown_class", f"{what} {str(value)[:64]!r} is not one of {self.class_names}"
            )
        return index

    def prediction(self, event: Prediction) -> WaitingPrediction:
        score: float = math.nan
        proba: list[float] | None = None
        if self._classification:
            y_hat: float = self._class_of(event.prediction, "prediction")
            raw = event.score
            if self._binary:
                if isinstance(raw, dict):
                    raw = raw.get(self.class_names[1])
                number = as_number(raw)
                if not isinstance(number, str) and math.isfinite(number):
                    score = _probability(number)
            elif isinstance(raw, dict):
                proba = [float(raw.get(name, math.nan)) for name in self.class_names]
                for value in proba:
                    if math.isfinite(value):
                        _probability(value)
        else:
            number = as_number(event.prediction)
            if isinstance(number, str) or not math.isfinite(number):
                raise RejectedEvent(
                    "invalid_prediction", "a regression prediction must be a finite number"
                )
            y_hat = number
        attributes = event.attributes
        groups = {
            attr: category_text(attributes[attr])
            for attr in self._spec.sensitive_attributes
            if attributes.get(attr) is not None
        }
        training = self._training_inputs(event) if self._keep_inputs else None
        return WaitingPrediction(event.timestamp, y_hat, score, proba, groups, training)  # type: ignore[arg-type]

    def _training_inputs(self, event: Prediction) -> TrainingInputs:
        spec = self._spec
        return TrainingInputs(
            t=event.timestamp,  # type: ignore[arg-type]
            x={name: event.features.get(name) for name in spec.features},
            a={name: event.attributes.get(name) for name in spec.sensitive_attributes},
            v=None if event.model_version is None else str(event.model_version),
            p=event.prediction,
            i=event.event_id,
            s=event.shadow,
        )

    def label(self, event: Label) -> float:
        """The label as a class index (classification) or a finite value (regression)."""
        if self._classification:
            return self._class_of(event.label, "label")
        number = as_number(event.label)
        if isinstance(number, str) or not math.isfinite(number):
            raise RejectedEvent("invalid_label", "a regression label must be a finite number")
        return number

    def label_value(self, y: float) -> Any:
        """Back from the encoded label to what apps sent (a class name, or the value)."""
        return self.class_names[int(y)] if self._classification else y


def _probability(value: float) -> float:
    """A score is a probability: 1.7 or -0.2 is a producer bug, refused (a dead letter
    naming it) rather than averaged into calibration and the label-free estimate."""
    if not 0.0 <= value <= 1.0:
        raise RejectedEvent("invalid_score", f"score {value:.6g} is not a probability in [0, 1]")
    return value
