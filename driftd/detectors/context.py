"""What every detector of one model may know before the first event: its context.

Built once per model from the config and the reference data: the class names in
index order (binary: negative then positive), the expected range of each numeric
feature, the reference's own performance, and the score calibration behind the
label-free estimate. Detectors read it in ``build``; it is never written to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from driftd.config import ModelSpec, ReferenceSpec
from driftd.detectors import metrics
from driftd.detectors.calibration import Calibration
from driftd.detectors.readings import Readings
from driftd.detectors.slicing import Slicer
from driftd.reference import Reference
from driftd.values import category_text


@dataclass(frozen=True)
class ModelContext:
    model_id: str
    spec: ModelSpec
    reference: Reference | None
    class_names: list[str]
    ranges: dict[str, tuple[float, float]]
    reference_performance: Readings = field(default_factory=dict)
    calibration: Calibration | None = None

    @cached_property
    def slicer(self) -> Slicer:
        """The model's slicing dimensions (built once: the encoder and the segment
        detector share them)."""
        return Slicer(self.spec, self.reference)

    @property
    def task(self) -> str:
        return self.spec.task

    @property
    def classification(self) -> bool:
        return self.spec.task != "regression"

    @property
    def reference_spec(self) -> ReferenceSpec | None:
        spec = self.spec.reference
        return spec if isinstance(spec, ReferenceSpec) else None

    def reference_column(self, name: str | None) -> np.ndarray | None:
        """A reference column, or None when the reference lacks it."""
        if self.reference is None or not self.reference.has(name):
            return None
        return self.reference.columns[name]  # type: ignore[index]

    @classmethod
    def prepare(cls, model_id: str, spec: ModelSpec, reference: Reference | None) -> ModelContext:
        class_names = _class_names(spec)
        ranges = {name: _range(spec, name, reference) for name in spec.features}
        context = cls(model_id, spec, reference, class_names, ranges)
        ref = context.reference_spec
        if reference is None or ref is None:
            return context
        labels = context.reference_column(ref.label_column)
        predictions = context.reference_column(ref.prediction_column)
        performance: Readings = {}
        if labels is not None and predictions is not None:
            performance = _reference_metrics(context, labels, predictions)
        calibration = None
        scores = context.reference_column(ref.score_column)
        if spec.task == "binary":
            calibration = Calibration()
            if scores is not None and labels is not None:
                positive = (labels == class_names[1]).astype(float)
                calibration = Calibration.fit(scores, positive)
        return cls(model_id, spec, reference, class_names, ranges, performance, calibration)


def _class_names(spec: ModelSpec) -> list[str]:
    names = [category_text(c) for c in spec.classes or []]
    if spec.task == "binary":
        positive = category_text(spec.positive_class)
        negative = next(name for name in names if name != positive)
        return [negative, positive]
    return names


def _range(spec: ModelSpec, name: str, reference: Reference | None) -> tuple[float, float]:
    """The configured min/max, else the reference's (numeric features), else unbounded."""
    feature = spec.features[name]
    low = feature.min if feature.min is not None else -math.inf
    high = feature.max if feature.max is not None else math.inf
    if reference is not None and feature.kind == "numeric":
        finite = reference.numeric(name)
        if len(finite) and feature.min is None:
            low = float(finite.min())
        if len(finite) and feature.max is None:
            high = float(finite.max())
    return low, high


def _reference_metrics(context: ModelContext, y_raw: np.ndarray, p_raw: np.ndarray) -> Readings:
    """The reference's own performance: what the default performance rule compares to."""
    if not context.classification:
        keep = np.isfinite(y_raw) & np.isfinite(p_raw)
        return metrics.regression_metrics(y_raw[keep], p_raw[keep])
    index = {name: i for i, name in enumerate(context.class_names)}
    y = np.array([index.get(str(v), -1) for v in y_raw])
    p = np.array([index.get(str(v), -1) for v in p_raw])
    keep = (y >= 0) & (p >= 0)
    cm = metrics.confusion_matrix(y[keep], p[keep], len(context.class_names))
    return metrics.from_confusion(cm, context.class_names, context.task == "binary")
