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
from driftd.detectors.summaries import ColumnSummary
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
    # Per feature the reference has: what the detectors keep of its column (the raw
    # feature columns are dropped once the context is prepared).
    summaries: dict[str, ColumnSummary] = field(default_factory=dict)

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
        """A reference column (outputs, labels, scores, sensitive attributes; feature
        columns are in ``summaries``), or None when the reference lacks it."""
        if self.reference is None or not self.reference.has(name):
            return None
        return self.reference.columns[name]  # type: ignore[index]

    @classmethod
    def prepare(cls, model_id: str, spec: ModelSpec, reference: Reference | None) -> ModelContext:
        class_names = _class_names(spec)
        summaries = {} if reference is None else {
            name: ColumnSummary.of(reference.columns[name], feature.kind == "numeric")
            for name, feature in spec.features.items() if reference.has(name)
        }  # fmt: skip
        ranges = {name: _range(spec, name, summaries.get(name)) for name in spec.features}
        context = cls(model_id, spec, reference, class_names, ranges, summaries=summaries)
        ref = context.reference_spec
        if reference is None or ref is None:
            return context._released()
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
        return cls(model_id, spec, reference, class_names, ranges, performance, calibration,
                   summaries)._released()  # fmt: skip

    def _released(self) -> ModelContext:
        """Drop the raw feature columns, once what needs them per reference row (the
        slicing dimensions and the rows' segment codes) is computed."""
        if self.reference is not None:
            self.slicer.reference_codes()  # computed now, kept by the slicer
            kept = {*self.spec.sensitive_attributes}
            ref = self.reference_spec
            if ref is not None:
                kept |= {ref.label_column, ref.prediction_column, ref.score_column or ""}
            for name in self.spec.features:
                if name not in kept:
                    self.reference.columns.pop(name, None)
        return self


def _class_names(spec: ModelSpec) -> list[str]:
    names = [category_text(c) for c in spec.classes or []]
    if spec.task == "binary":
        positive = category_text(spec.positive_class)
        negative = next(name for name in names if name != positive)
        return [negative, positive]
    return names


def _range(spec: ModelSpec, name: str, summary: ColumnSummary | None) -> tuple[float, float]:
    """The configured min/max, else the reference's (numeric features), else unbounded."""
    feature = spec.features[name]
    low = feature.min if feature.min is not None else -math.inf
    high = feature.max if feature.max is not None else math.inf
    if summary is not None and summary.values is not None and feature.kind == "numeric":
        finite = summary.values.values
        if feature.min is None:
            low = float(finite[0])
        if feature.max is None:
            high = float(finite[-1])
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
