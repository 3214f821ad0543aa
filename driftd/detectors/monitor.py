"""Everything driftd watches for one model, fed event by event.

The monitor turns typed events into encoded values once (class indices,
calibrated scores, quality codes) and hands them to the detectors: predictions
feed data quality, feature and prediction drift and the label-free estimate;
joined labels feed performance, fairness and concept drift; every label feeds
label drift. ``readings()`` gathers all detector values under stable names
(``accuracy``, ``drift.age.wasserstein``, ``fairness.sex.demographic_parity_ratio``,
...) for the rules and the store.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from driftd.config import ModelSpec, ReferenceSpec
from driftd.consumers.join import LabelJoin
from driftd.detectors import metrics
from driftd.detectors import quality as q
from driftd.detectors.base import Outcome, Readings
from driftd.detectors.columns import categorical_column, columns, numeric_column
from driftd.detectors.concept import ConceptDrift
from driftd.detectors.drift import CategoricalDrift, NumericDrift
from driftd.detectors.estimate import Calibration, ExpectedAccuracy, ExpectedConfusion
from driftd.detectors.fairness import FairnessWindow
from driftd.detectors.performance import PerformanceWindow, TumblingPerformance
from driftd.events import Label, Prediction
from driftd.reference import Reference
from driftd.values import as_number, category_text

ColumnDrift = NumericDrift | CategoricalDrift
FLUSH_AT = 512  # predictions whose features wait for one columnar update, at most


def _outcome(encoded: list[Any], y: float) -> Outcome:
    event_time, y_hat, score, proba, groups = encoded[:5]
    return Outcome(event_time=event_time, y=y, y_hat=y_hat, score=score,
                   proba=None if proba is None else np.asarray(proba, dtype=float),
                   groups=groups)  # fmt: skip


class RejectedEvent(Exception):
    """An event that is well-formed JSON but cannot be used; becomes a dead letter."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _drift_for(values: np.ndarray, numeric: bool, spec: ModelSpec) -> ColumnDrift | None:
    try:
        if numeric:
            return NumericDrift(values.astype(float), spec.drift)
        return CategoricalDrift(values[values != ""], spec.drift)
    except ValueError:
        return None


class ModelMonitor:
    def __init__(self, model_id: str, spec: ModelSpec, reference: Reference | None):
        self.model_id = model_id
        self.spec = spec
        # Joined (inputs, label) rows for the retraining worker, drained at each checkpoint.
        self.collect_training = spec.retrain is not None
        self.training_rows: list[dict[str, Any]] = []
        self.task = spec.task
        self.classification = spec.task != "regression"
        self.class_names = [category_text(c) for c in spec.classes or []]
        if spec.task == "binary":
            positive = category_text(spec.positive_class)
            negative = next(name for name in self.class_names if name != positive)
            self.class_names = [negative, positive]
        self._class_index = {name: i for i, name in enumerate(self.class_names)}
        self.counts = {"predictions": 0, "labels": 0}
        self.since_evaluation = 0
        self.join = LabelJoin(float(spec.join.ttl), spec.join.max_pending, spec.join.remember)
        self.performance = PerformanceWindow(self.task, self.class_names, spec.windows.size)
        length = float(spec.windows.tumbling)
        self.tumbling = (
            TumblingPerformance(self.task, self.class_names, length) if length > 0 else None
        )
        fairness_mode = {"binary": "selection", "multiclass": "accuracy"}.get(
            self.task, "regression"
        )
        self.fairness = [
            FairnessWindow(a, spec.windows.size, spec.fairness.min_group_size, fairness_mode)
            for a in spec.sensitive_attributes
        ]
        self.concept = ConceptDrift(
            spec.concept.method, dict(spec.concept.params), spec.concept.hold
        )
        self.quality = q.DataQuality(list(spec.features), spec.quality.window)
        self.estimate: ExpectedConfusion | ExpectedAccuracy | None = None
        self.ranges: dict[str, tuple[float, float]] = {}
        self.feature_drift: dict[str, ColumnDrift] = {}
        self.prediction_drift: dict[str, ColumnDrift] = {}
        self.label_drift: ColumnDrift | None = None
        self.reference_performance: Readings = {}
        # Observed in batches, before anything reads the detectors (see flush):
        self._pending: list[Prediction] = []  # predictions whose features wait
        self._outputs: list[list[Any]] = []  # their encoded outputs, for prediction drift
        self._outcomes: list[tuple[list[Any], float]] = []  # joined (encoded, label)
        self._build_reference_detectors(reference)

    # -- set-up -------------------------------------------------------------------

    def _build_reference_detectors(self, reference: Reference | None) -> None:
        spec = self.spec
        for name, feature in spec.features.items():
            low = feature.min if feature.min is not None else -math.inf
            high = feature.max if feature.max is not None else math.inf
            if reference is not None and feature.kind == "numeric":
                finite = reference.numeric(name)
                if len(finite) and feature.min is None:
                    low = float(finite.min())
                if len(finite) and feature.max is None:
                    high = float(finite.max())
            self.ranges[name] = (low, high)
        if self.task == "multiclass":
            self.estimate = ExpectedAccuracy()
        if reference is None:
            if self.task == "binary":
                self.estimate = ExpectedConfusion(Calibration())
            return
        ref_spec = spec.reference
        assert isinstance(ref_spec, ReferenceSpec)
        for name, feature in spec.features.items():
            detector = _drift_for(reference.columns[name], feature.kind == "numeric", spec)
            if detector is not None:
                self.feature_drift[name] = detector
        label_col, pred_col, score_col = (
            ref_spec.label_column,
            ref_spec.prediction_column,
            ref_spec.score_column,
        )
        if spec.drift.predictions:
            if reference.has(pred_col):
                detector = _drift_for(reference.columns[pred_col], not self.classification, spec)
                if detector is not None:
                    self.prediction_drift["class" if self.classification else "value"] = detector
            if self.task == "binary" and reference.has(score_col):
                detector = _drift_for(reference.columns[score_col], True, spec)
                if detector is not None:
                    self.prediction_drift["score"] = detector
        if spec.drift.labels and reference.has(label_col):
            self.label_drift = _drift_for(
                reference.columns[label_col], not self.classification, spec
            )
        if self.task == "binary":
            calibration = Calibration()
            if reference.has(score_col) and reference.has(label_col):
                labels = (reference.columns[label_col] == self.class_names[1]).astype(float)
                calibration = Calibration.fit(reference.columns[score_col], labels)
            self.estimate = ExpectedConfusion(calibration)
        if reference.has(label_col) and reference.has(pred_col):
            self.reference_performance = self._reference_metrics(reference, label_col, pred_col)

    def _reference_metrics(self, reference: Reference, label_col: str, pred_col: str) -> Readings:
        y_raw, p_raw = reference.columns[label_col], reference.columns[pred_col]
        if not self.classification:
            keep = np.isfinite(y_raw) & np.isfinite(p_raw)
            return metrics.regression_metrics(y_raw[keep], p_raw[keep])
        y = np.array([self._class_index.get(str(v), -1) for v in y_raw])
        p = np.array([self._class_index.get(str(v), -1) for v in p_raw])
        keep = (y >= 0) & (p >= 0)
        cm = metrics.confusion_matrix(y[keep], p[keep], len(self.class_names))
        return metrics.from_confusion(cm, self.class_names, self.task == "binary")

    # -- per event ----------------------------------------------------------------

    def _class_of(self, value: Any, what: str) -> int:
        index = self._class_index.get(category_text(value))
        if index is None:
            raise RejectedEvent(
                "unknown_class", f"{what} {str(value)[:64]!r} is not one of {self.class_names}"
            )
        return index

    def _encode_prediction(self, event: Prediction) -> list[Any]:
        """[event_time, y_hat, score, proba, groups] as plain data (it may wait in the join)."""
        score: float = math.nan
        proba: list[float] | None = None
        if self.classification:
            y_hat: float = self._class_of(event.prediction, "prediction")
            raw = event.score
            if self.task == "binary":
                if isinstance(raw, dict):
                    raw = raw.get(self.class_names[1])
                number = as_number(raw)
                if not isinstance(number, str) and math.isfinite(number):
                    score = number
            elif isinstance(raw, dict):
                proba = [float(raw.get(name, math.nan)) for name in self.class_names]
        else:
            number = as_number(event.prediction)
            if isinstance(number, str) or not math.isfinite(number):
                raise RejectedEvent(
                    "invalid_prediction", "a regression prediction must be a finite number"
                )
            y_hat = number
        groups = {
            attr: category_text(event.attributes[attr])
            for attr in self.spec.sensitive_attributes
            if event.attributes.get(attr) is not None
        }
        return [event.timestamp, y_hat, score, proba, groups]

    def on_prediction(self, event: Prediction) -> None:
        encoded = self._encode_prediction(event)
        contribution = self._estimate_contribution(encoded)
        payload = [*encoded, contribution]
        if self.collect_training:  # the raw inputs wait in the join too, for retraining
            payload.append(self._training_inputs(event))
        try:
            label = self.join.add_prediction(event.event_id, event.timestamp, payload)
        except KeyError:
            raise RejectedEvent(
                "duplicate_event_id", f"prediction {event.event_id!r} seen before"
            ) from None
        self.counts["predictions"] += 1
        self.since_evaluation += 1
        self._pending.append(event)
        self._outputs.append(encoded)
        if len(self._pending) >= FLUSH_AT:
            self.flush()
        if self.tumbling is not None:
            self.tumbling.observe_time(event.timestamp)
        if label is not None:
            self._on_outcome(encoded, label)
            if self.collect_training:
                self._keep_training_row(payload[6], label)
        elif contribution is not None and self.estimate is not None:
            self.estimate.add(contribution)

    def _training_inputs(self, event: Prediction) -> dict[str, Any]:
        return {
            "t": event.timestamp,
            "x": {name: event.features.get(name) for name in self.spec.features},
            "a": {name: event.attributes.get(name) for name in self.spec.sensitive_attributes},
            "v": None if event.model_version is None else str(event.model_version),
            "p": event.prediction,
        }

    def _keep_training_row(self, inputs: dict[str, Any], y: float) -> None:
        label = self.class_names[int(y)] if self.classification else y
        self.training_rows.append({**inputs, "y": label})

    def _estimate_contribution(self, encoded: list[Any]) -> list[float] | None:
        _, y_hat, score, proba, _ = encoded
        if isinstance(self.estimate, ExpectedConfusion):
            return self.estimate.contribution(y_hat == 1, score)
        if isinstance(self.estimate, ExpectedAccuracy) and proba is not None:
            row = np.asarray(proba, dtype=float)
            if np.all(np.isfinite(row)) and row.sum() > 0:
                return self.estimate.contribution(float(row[int(y_hat)] / row.sum()))
        return None

    def flush(self) -> None:
        """Feed what waits to the detectors: features, outputs and joined outcomes.

        Per event the monitor only encodes, joins and queues; the detectors are fed
        in batches (one numpy operation per column rather than one Python call per
        value), always before anything reads them, in arrival order: the result is
        the same as feeding each event as it came.
        """
        if self._pending:
            self._observe_features(self._pending)
            self._observe_outputs(self._outputs)
            self._pending, self._outputs = [], []
        if self._outcomes:
            outcomes, self._outcomes = self._outcomes, []
            self._observe_outcomes(outcomes)

    def _observe_features(self, events: list[Prediction]) -> None:
        names = list(self.spec.features)
        codes: dict[str, np.ndarray] = {}
        for name, raw in zip(names, columns([e.features for e in events], names), strict=True):
            feature = self.spec.features[name]
            drift = self.feature_drift.get(name)
            if feature.kind == "numeric":
                codes[name], values = numeric_column(raw, self.ranges[name])
                if drift is not None:
                    drift.update_many(values)  # type: ignore[arg-type]
            else:
                codes[name], categories = categorical_column(raw)
                if drift is not None:
                    drift.update_many(categories)  # type: ignore[arg-type]
        latencies = [e.latency_ms for e in events if e.latency_ms is not None]
        self.quality.update_many(codes, np.asarray(latencies, dtype=float),
                                 max(e.timestamp for e in events))  # fmt: skip

    def _observe_outputs(self, outputs: list[list[Any]]) -> None:
        for key, detector in self.prediction_drift.items():
            if key == "class":
                names = self.class_names
                detector.update_many([names[int(o[1])] for o in outputs])  # type: ignore[arg-type]
            else:
                column = 2 if key == "score" else 1
                detector.update_many(np.array([o[column] for o in outputs], dtype=float))  # type: ignore[arg-type]

    def _observe_outcomes(self, outcomes: list[tuple[list[Any], float]]) -> None:
        """Performance, tumbling windows, fairness and concept drift, in join order."""
        y = np.array([label for _, label in outcomes], dtype=float)
        y_hat = np.array([encoded[1] for encoded, _ in outcomes], dtype=float)
        if self.task == "multiclass":
            width = len(self.class_names)
            scores = np.array([e[3] if e[3] is not None else [math.nan] * width
                               for e, _ in outcomes], dtype=float)  # fmt: skip
        else:
            scores = np.array([encoded[2] for encoded, _ in outcomes], dtype=float)
        self.performance.update_many(y, y_hat, scores)
        if self.tumbling is not None:
            for encoded, label in outcomes:
                self.tumbling.update(_outcome(encoded, label))
        for fairness in self.fairness:
            groups = [encoded[4].get(fairness.attribute) for encoded, _ in outcomes]
            if self.task == "binary":
                fairness.update_many(groups, (y == 1).astype(float), (y_hat == 1).astype(float))
            else:
                fairness.update_many(groups, y, y_hat)
        errors = np.abs(y - y_hat) if not self.classification else (y != y_hat).astype(float)
        update = self.concept.update
        for error in errors.tolist():
            update(error)

    def on_label(self, event: Label) -> None:
        if self.classification:
            y: float = self._class_of(event.label, "label")
        else:
            number = as_number(event.label)
            if isinstance(number, str) or not math.isfinite(number):
                raise RejectedEvent("invalid_label", "a regression label must be a finite number")
            y = number
        try:
            waiting = self.join.add_label(event.event_id, event.timestamp, y)
        except KeyError:
            raise RejectedEvent(
                "duplicate_event_id", f"label {event.event_id!r} seen before"
            ) from None
        self.counts["labels"] += 1
        self.since_evaluation += 1
        self.quality.saw_event(event.timestamp)
        if self.label_drift is not None:
            value = self.class_names[int(y)] if self.classification else y
            self.label_drift.update(value)  # type: ignore[arg-type]
        if waiting is not None:
            encoded, contribution = waiting[:5], waiting[5]
            if contribution is not None and self.estimate is not None:
                self.estimate.remove(contribution)
            self._on_outcome(encoded, y)
            if self.collect_training and len(waiting) > 6:
                self._keep_training_row(waiting[6], y)

    def _on_outcome(self, encoded: list[Any], y: float) -> None:
        self._outcomes.append((encoded, y))
        if len(self._outcomes) >= FLUSH_AT:
            self.flush()

    def expire(self, now: float) -> list[tuple[str, float, Any]]:
        """Expire waiting joins on the stream clock; returns orphan labels."""
        expired, orphans = self.join.expire(now)
        if self.estimate is not None:
            for payload in expired:
                if payload[5] is not None:
                    self.estimate.remove(payload[5])
        return orphans

    # -- per tick -----------------------------------------------------------------

    def window_of(self, metric: str) -> str:
        """In words, over what a reading is computed (shown in alerts)."""
        spec = self.spec
        if metric.startswith(("drift.", "prediction_drift.", "label_drift.")):
            return f"last {spec.drift.window} values"
        if metric.startswith("tumbling."):
            return f"event-time window of {float(spec.windows.tumbling):g}s"
        if metric.startswith("quality."):
            return f"last {spec.quality.window} events"
        if metric.startswith("concept"):
            return f"the error stream ({spec.concept.method})"
        if metric.startswith(("events.", "join.", "estimate")):
            return ""
        return f"last {spec.windows.size} labeled events"

    def readings(self, now: float | None) -> Readings:
        self.flush()
        out: Readings = {
            "events.predictions": float(self.counts["predictions"]),
            "events.labels": float(self.counts["labels"]),
        }
        out.update(self.performance.readings())
        if self.tumbling is not None:
            out.update(self.tumbling.readings())
        for fairness in self.fairness:
            out.update(fairness.readings())
        out.update(self.concept.readings())
        out.update(self.quality.readings(now))
        out.update(self.join.readings())
        if self.estimate is not None:
            out.update(self.estimate.readings())
        for prefix, detectors in (
            ("drift", self.feature_drift),
            ("prediction_drift", self.prediction_drift),
        ):
            for name, detector in detectors.items():
                for stat, value in detector.readings().items():
                    out[f"{prefix}.{name}.{stat}"] = value
        if self.label_drift is not None:
            for stat, value in self.label_drift.readings().items():
                out[f"label_drift.{stat}"] = value
        # Plain floats only, NaN as None: readings go to JSON, Prometheus and rules.
        return {k: None if v is None or v != v else float(v) for k, v in out.items()}

    # -- state ----------------------------------------------------------------------

    def _parts(self) -> dict[str, Any]:
        parts: dict[str, Any] = {
            "join": self.join,
            "performance": self.performance,
            "concept": self.concept,
            "quality": self.quality,
        }
        if self.tumbling is not None:
            parts["tumbling"] = self.tumbling
        if self.estimate is not None:
            parts["estimate"] = self.estimate
        if self.label_drift is not None:
            parts["label_drift"] = self.label_drift
        for fairness in self.fairness:
            parts[f"fairness.{fairness.attribute}"] = fairness
        for name, detector in self.feature_drift.items():
            parts[f"drift.{name}"] = detector
        for name, detector in self.prediction_drift.items():
            parts[f"prediction_drift.{name}"] = detector
        return parts

    def snapshot(self) -> dict[str, Any]:
        self.flush()
        state = {name: part.snapshot() for name, part in self._parts().items()}
        state["counts"] = dict(self.counts)
        return state

    def restore(self, state: dict[str, Any]) -> None:
        for name, part in self._parts().items():
            if name in state:
                part.restore(state[name])
        self.counts = dict(state.get("counts", self.counts))
