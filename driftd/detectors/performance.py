"""Model performance over the last N labeled predictions.

The count window keeps the rows themselves (a ring of N), so every metric, ROC AUC
included, is exact (tested equal to scikit-learn). Per event-time window:
detectors/tumbling.py.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np

from driftd.detectors import metrics
from driftd.detectors import readings as names
from driftd.detectors.base import Detector, OutcomeBatch, RuleTemplate
from driftd.detectors.context import ModelContext
from driftd.detectors.intervals import wilson
from driftd.detectors.merging import CONCAT, Plan, sequential
from driftd.detectors.rate_test import RateTest
from driftd.detectors.readings import Readings
from driftd.detectors.residual_test import ResidualTest
from driftd.detectors.ring import RingBuffer

# The window accuracy's one-sided 99% bounds (an escalation's evidence).
ACCURACY_BOUNDS = ["accuracy_lower", "accuracy_upper"]

log = logging.getLogger("driftd.detectors")


class PerformanceWindow:
    """Exact metrics over the last ``size`` labeled predictions."""

    def __init__(self, task: str, class_names: list[str], size: int):
        self._task = task
        self._class_names = class_names
        dtype = np.float64 if task == "regression" else np.int64
        self._y = RingBuffer(size, dtype)
        self._y_hat = RingBuffer(size, dtype)
        width = len(class_names) if task == "multiclass" else None
        self._score = RingBuffer(size, width=width)

    def update_many(self, y: np.ndarray, y_hat: np.ndarray, scores: np.ndarray) -> None:
        """Outcomes in join order; scores: the binary score (NaN if none) or proba rows."""
        self._y.extend(y)
        self._y_hat.extend(y_hat)
        self._score.extend(scores)

    def readings(self) -> Readings:
        y, y_hat = self._y.values(), self._y_hat.values()
        if self._task == "regression":
            return metrics.regression_metrics(y, y_hat)
        k = len(self._class_names)
        binary = self._task == "binary"
        out = metrics.from_confusion(
            metrics.confusion_matrix(y, y_hat, k), self._class_names, binary
        )
        if len(y):
            scores = self._score.values()
            out.update(
                metrics.binary_score_metrics(y, scores)
                if binary
                else metrics.multiclass_score_metrics(y, scores, self._class_names)
            )
        return out

    def accuracy_bounds(self) -> Readings:
        """One-sided 99% Wilson bounds of the window's accuracy: what an escalation of
        the accuracy alert is judged by (a step worse, beyond the noise)."""
        y, y_hat = self._y.values(), self._y_hat.values()
        if self._task == "regression" or not len(y):
            return {}
        low, high = wilson(int(np.count_nonzero(y == y_hat)), len(y))
        return {ACCURACY_BOUNDS[0]: low, ACCURACY_BOUNDS[1]: high}

    def snapshot(self) -> dict[str, Any]:
        return {
            "y": self._y.snapshot(),
            "y_hat": self._y_hat.snapshot(),
            "score": self._score.snapshot(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._y.restore(state["y"])
        self._y_hat.restore(state["y_hat"])
        self._score.restore(state["score"])


def metric_names(task: str, class_names: list[str], scored: bool = True) -> list[str]:
    """The names :meth:`PerformanceWindow.readings` (and a tumbling window) can return."""
    if task == "regression":
        return ["labeled", "mae", "rmse", "r2"]
    out = ["labeled", "accuracy", "error_rate", "precision", "recall", "f1"]
    if task == "multiclass":
        out += [f"{m}.{name}" for name in class_names for m in ("precision", "recall", "f1")]
    if scored:
        out += ["roc_auc", "log_loss", "brier"] if task == "binary" else ["log_loss"]
        if task == "multiclass":
            out += [f"roc_auc.{name}" for name in class_names]
    return out


class PerformanceDetector(Detector):
    """Accuracy and friends (or MAE, RMSE, R²) over the last ``windows.size`` outcomes."""

    name = "performance"
    feeds = ("outcomes",)
    merge_plan: ClassVar[Plan] = {"y": CONCAT, "y_hat": CONCAT, "score": CONCAT}

    def __init__(self, context: ModelContext):
        self._context = context
        size = context.spec.windows.size
        self.window = f"last {size} labeled events"
        self.performance = PerformanceWindow(context.task, context.class_names, size)
        self._width = len(context.class_names) if context.task == "multiclass" else None
        spec = context.spec.performance
        # The evidence behind the default rule: a rise of the error rate
        # (classification) or of the residuals (regression), each against a burn-in.
        self.test: RateTest | ResidualTest = (
            RateTest(names.error_test, lambda p0: p0 + spec.max_drop, spec.hold,
                     burn_in=spec.burn_in, on_start=self._burnt_in)
            if context.classification
            else ResidualTest(1 + 5 * spec.max_drop, spec.hold, spec.burn_in)
        )  # fmt: skip
        self._test_key = "error_test" if context.classification else "residual_test"

    def _burnt_in(self, rate: float, p0: float) -> None:
        """The accuracy alert's baseline is the burn-in's; say so when it is far from
        the reference's (which may be in-sample, or the model worse from the start)."""
        accuracy = self._context.reference_performance.get("accuracy")
        max_drop = self._context.spec.performance.max_drop
        if accuracy is not None and rate > 1 - accuracy + max_drop:
            log.warning(
                "%s: the first %d labeled predictions erred at %.3f, the reference's at "
                "%.3f. Either the reference's predictions are in-sample (made on the "
                "training rows) or the model was worse than its reference from the "
                "start; the accuracy alert tests for a rise over %.3f",
                self._context.model_id, self._context.spec.performance.burn_in, rate,
                1 - accuracy, p0,
            )  # fmt: skip

    @classmethod
    def build(cls, context: ModelContext) -> list[Detector]:
        return [cls(context)]

    def update_outcomes(self, batch: OutcomeBatch) -> None:
        self.performance.update_many(batch.y, batch.y_hat, batch.scores(self._width))
        if isinstance(self.test, ResidualTest):
            self.test.update_many(batch.y - batch.y_hat)
        else:
            self.test.update_many(batch.y != batch.y_hat)

    def decisions(self) -> int:
        return 1

    def onsets(self) -> int:
        return self.test.onsets

    def calibrate(self, arl0: float) -> None:
        self.test.calibrate(arl0)

    def readings(self, now: float | None) -> Readings:
        out = self.performance.readings()
        out.update(self.performance.accuracy_bounds())
        out.update(self.test.readings())
        return out

    def sequential_readings(self, now: float | None) -> Readings:
        return sequential(self.test.readings())  # not the window's metrics and bounds

    def reading_names(self) -> list[str]:
        out = metric_names(self._context.task, self._context.class_names)
        if self._context.classification:
            out += ACCURACY_BOUNDS
        return out + self.test.reading_names()

    def rule_templates(self) -> list[RuleTemplate]:
        """Accuracy (classification) or MAE (regression) against the reference's own."""
        context = self._context
        spec = context.spec.performance
        reference = context.reference_performance
        guard = {"guard_metric": "labeled", "guard_minimum": float(spec.min_labeled)}
        if context.classification and reference.get("accuracy") is not None:
            accuracy = float(reference["accuracy"])  # type: ignore[arg-type]
            return [RuleTemplate(
                name="accuracy-drop", metric="accuracy", op="<",
                threshold=round(accuracy - spec.max_drop, 6), severity="critical",
                hysteresis=0.01, escalate_step=0.02, escalate_on=ACCURACY_BOUNDS[1],
                escalate_from=ACCURACY_BOUNDS[0],
                description=(
                    f"The error rate rose by {spec.max_drop:g} over its baseline (a CUSUM on "
                    "the error stream, calibrated to the false-alarm budget), and accuracy "
                    f"over the last {context.spec.windows.size} labeled predictions is "
                    f"{spec.max_drop:g} below the reference's {accuracy:.3f}."
                ),
                evidence_metric=names.error_test("alarm"),
                **guard,
            )]  # fmt: skip
        if not context.classification and reference.get("mae") is not None:
            # The test judges the growth it is tuned to (1 + 5 x max_drop); the window's
            # MAE only has to be past the reference's by max_drop, so the verdict does
            # not wait for a 1,000-row window to turn over.
            threshold = round(float(reference["mae"]) * (1 + spec.max_drop), 6)  # type: ignore[arg-type]
            return [RuleTemplate(
                name="mae-increase", metric="mae", op=">", threshold=threshold,
                severity="critical", hysteresis=threshold * 0.05,
                description=(
                    "Residuals grew (a CUSUM on the share of |residual| above the first "
                    "labeled predictions' 90% quantile, calibrated to the false-alarm "
                    f"budget), and MAE over the last {context.spec.windows.size} labeled "
                    f"predictions is {spec.max_drop:.0%} above the reference's."
                ),
                evidence_metric=names.residual_test("alarm"), **guard,
            )]  # fmt: skip
        return []

    def snapshot(self) -> dict[str, Any]:
        state = self.performance.snapshot()
        state[self._test_key] = self.test.snapshot()
        return state

    def restore(self, state: dict[str, Any]) -> None:
        self.performance.restore(state)
        if self._test_key in state:  # absent before 0.9
            self.test.restore(state[self._test_key])
