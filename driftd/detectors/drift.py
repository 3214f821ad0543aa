"""Distribution drift of one column (a feature, the score, the label) against the reference.

Per event the detector only appends to a ring of the last ``window`` values (and,
for numeric columns, feeds a sequential shift test: detectors/shift.py).
Per evaluation tick it computes, against the reference sorted or binned once at
start: numeric -> PSI, Jensen-Shannon distance, normalised Wasserstein distance,
KS statistic and p-value; categorical -> chi-square p-value, Jensen-Shannon
distance and the share of categories never seen in the reference.

The verdict (``drifted``) and the default rule need two things: an effect size past
a practical threshold (normalised Wasserstein >= 0.1, or the KS statistic >= 0.1
with a small reference, <= ``auto_small_reference`` rows; Jensen-Shannon >= 0.1
for categories) AND a significant difference (KS, or chi-square / a beta-binomial test
on unseen categories, at ``drift.significance``, by default calibrated to the
false-alarm budget: see ``ColumnDrift.calibrate``). A p-value alone flags
differences too small to matter on large windows; a distance alone flags noise on
small ones.
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

import numpy as np

from driftd.detectors import readings as names
from driftd.detectors.base import Detector, LabelBatch, PredictionBatch, RuleTemplate
from driftd.detectors.column_tests import (
    DEFAULT_SIGNIFICANCE,
    CategoricalDrift,
    ColumnTest,
    Distribution,
    NumericDrift,
    column_test,
)
from driftd.detectors.context import ModelContext
from driftd.detectors.merging import CONCAT, Plan, sequential
from driftd.detectors.numeric_columns import NumericColumns
from driftd.detectors.rate_test import (
    SHARE_FRACTION,
    SHARE_SHIFT,
    RateTest,
    RateTests,
    observed,
    raised_share,
)
from driftd.detectors.readings import Readings
from driftd.detectors.scale import calibrate_scale
from driftd.detectors.shift import calibrate_shift


class ColumnDrift(Detector):
    """A column of the model's traffic (a feature, an output, the label) against the
    reference's; ``<prefix>.<statistic>`` readings and a default drift rule."""

    # How the default rule names the column ("Feature 'age'", "The label mix"...).
    what: str
    # The default rule of a distance resolves this far under its threshold (p-values
    # resolve once twice the threshold).
    RESOLVE_SHARE: ClassVar[float] = 0.2
    # Shards merge the window (and a numeric one's reference ranks, which a shard
    # ships so the merge need not search them again); their sequential tests stay
    # per shard.
    merge_plan: ClassVar[Plan] = {"values": CONCAT, "below": CONCAT}

    def __init__(self, prefix: str, test: ColumnTest, context: ModelContext):
        self.name = prefix
        self.test = test
        self.window = f"last {context.spec.drift.window} values"
        self._window_size = context.spec.drift.window
        self._calibrated = context.spec.drift.significance is None

    def decisions(self) -> int:
        """The window test's significance level comes from the budget unless set."""
        return int(self._calibrated)

    def calibrate(self, arl0: float) -> None:
        """About one independent look per window of values: a level of window / ARL0
        per look spends the test's share (approximate: the ticks' overlapping windows
        are correlated, which makes it conservative per tick, not per window)."""
        if self._calibrated:
            self.test.significance = min(DEFAULT_SIGNIFICANCE, self._window_size / arl0)

    def readings(self, now: float | None) -> Readings:
        return {names.column_drift(self.name, k): v for k, v in self._test_readings().items()}

    def _test_readings(self) -> Readings:
        return self.test.readings()

    def sequential_readings(self, now: float | None) -> Readings:
        """A numeric column's shift and scale tests' readings, without the window's
        statistics (KS, Wasserstein, PSI: most of a tick) that only the merge reads."""
        if not isinstance(self.test, NumericDrift):
            return super().sequential_readings(now)
        found = self.test.assemble(0, None)
        return sequential({names.column_drift(self.name, k): v for k, v in found.items()})

    def reading_names(self) -> list[str]:
        return [names.column_drift(self.name, k) for k in self.test.statistics()]

    def rule_templates(self) -> list[RuleTemplate]:
        statistic, op, threshold = self.test.verdict
        return [RuleTemplate(
            name=f"{self.name}-{statistic}", metric=names.column_drift(self.name, statistic),
            op=op, threshold=threshold, severity="warning",  # type: ignore[arg-type]
            hysteresis=threshold if op == "<" else threshold * self.RESOLVE_SHARE,
            description=(
                f"{self.what} has drifted from the reference: {statistic} past "
                f"{threshold:g} (an effect worth a page) and a significant difference "
                f"(p < {self.test.significance:.2g})."
            ),
            evidence_metric=names.column_drift(self.name, "significant"),
        )]  # fmt: skip

    def distribution(self) -> Distribution:
        return self.test.distribution()

    def watched(self) -> tuple[str, str, float]:
        """The reading its default drift rule judges, with the rule's comparison and
        threshold (what a chart of this column should plot)."""
        statistic, op, threshold = self.test.verdict
        return names.column_drift(self.name, statistic), op, float(threshold)

    def snapshot(self) -> dict[str, Any]:
        return self.test.snapshot()

    def shard_state(self) -> dict[str, Any]:
        if isinstance(self.test, NumericDrift):
            return self.test.shard_state()
        return super().shard_state()

    def restore(self, state: dict[str, Any]) -> None:
        self.test.restore(state)


def _held_alarm_rule(name: str, reading: str, description: str) -> RuleTemplate:
    """A rule on every numeric feature's held sequential alarm (``drift.*.<reading>``)."""
    return RuleTemplate(
        name=name, metric=names.column_drift(names.feature_drift_prefix("*"), reading),
        op=">=", threshold=1.0, severity="warning", hysteresis=0.5, description=description,
    )  # fmt: skip


class FeatureDrift(ColumnDrift):
    """``drift.<feature>.*``: one per configured feature the reference has values of."""

    feeds = ("predictions",)

    def __init__(self, feature: str, test: ColumnTest, context: ModelContext,
                 numeric: NumericColumns | None = None):  # fmt: skip
        """``numeric``: the model's numeric features, updated together (this one's among them)."""
        super().__init__(names.feature_drift_prefix(feature), test, context)
        self.feature = feature
        self.numeric = numeric
        self._spec = spec = context.spec.drift
        # Categorical: a calibrated test per batch for a rise of unseen categories, from
        # Good-Turing's chance of one to drift.unseen_rate.
        self.unseen = None if isinstance(test, NumericDrift) else RateTest(
            partial(names.drift_test, self.name, "unseen_rate"),
            lambda p0: max(spec.unseen_rate, 2 * p0), spec.window,
            baseline=test.unseen_baseline,
        )  # fmt: skip
        self.what = f"Feature {feature!r}"

    @classmethod
    def build(cls, context: ModelContext) -> list[Detector]:
        spec = context.spec.drift
        tests: dict[str, ColumnTest] = {}
        for name in context.spec.features:
            summary = context.summaries.get(name)
            if summary is not None and summary.values is not None:
                tests[name] = NumericDrift(summary.values, spec)
            elif summary is not None and summary.categories:
                tests[name] = CategoricalDrift((summary.categories, summary.counts), spec)  # type: ignore[arg-type]
        numeric = {n: t for n, t in tests.items() if isinstance(t, NumericDrift)}
        together = NumericColumns(list(numeric), list(numeric.values())) if numeric else None
        return [cls(name, test, context, together if name in numeric else None)
                for name, test in tests.items()]  # fmt: skip

    def update_predictions(self, batch: PredictionBatch) -> None:
        if self.numeric is not None:
            self.numeric.update(batch)  # every numeric feature's, once per batch
            return
        unseen = self.test.update_many(batch.feature_columns[self.feature][1])
        if self.unseen is not None and len(unseen):
            self.unseen.update_many(unseen)

    def _test_readings(self) -> Readings:
        if self.numeric is None:
            return self.test.readings()
        assert isinstance(self.test, NumericDrift)
        return self.test.assemble(*self.numeric.statistics_of(self.test))

    def decisions(self) -> int:
        """The window test, a categorical feature's unseen-category test, a numeric
        feature's scale test and shift test (unless set by hand) share the budget."""
        if self.unseen is not None:
            return super().decisions() + 1
        return super().decisions() + 1 + int(self._spec.shift_threshold is None)

    def onsets(self) -> int:
        if self.unseen is not None:
            return self.unseen.onsets
        assert isinstance(self.test, NumericDrift)
        return self.test.shift.onsets + self.test.scale.onsets

    def calibrate(self, arl0: float) -> None:
        super().calibrate(arl0)
        if self.unseen is not None:
            self.unseen.calibrate(arl0)
            return
        assert isinstance(self.test, NumericDrift)
        self.test.scale.threshold = calibrate_scale(arl0)
        if self._spec.shift_threshold is None:
            self.test.shift.threshold = calibrate_shift(self._spec.shift_allowance, arl0)

    def readings(self, now: float | None) -> Readings:
        out = super().readings(now)
        if self.unseen is not None:
            out.update(self.unseen.readings())
        return out

    def reading_names(self) -> list[str]:
        names_ = super().reading_names()
        return names_ + (self.unseen.reading_names() if self.unseen is not None else [])

    def snapshot(self) -> dict[str, Any]:
        state = super().snapshot()
        if self.unseen is not None:
            state["unseen_test"] = self.unseen.snapshot()
        return state

    def restore(self, state: dict[str, Any]) -> None:
        super().restore(state)
        if self.unseen is not None and "unseen_test" in state:  # absent before 0.9
            self.unseen.restore(state["unseen_test"])

    def rule_templates(self) -> list[RuleTemplate]:
        """The window test's rule; numeric features share the sequential shift and scale
        rules, categorical ones the unseen-categories rule."""
        templates = super().rule_templates()
        if self.unseen is not None:
            templates.append(RuleTemplate(
                name="unseen-categories",
                metric=names.column_drift(names.feature_drift_prefix("*"), "unseen_rate"),
                op=">", threshold=0.0, severity="warning",
                description=(
                    "A categorical feature takes values its reference never had, more "
                    "often than the reference suggests (a sequential test per batch, "
                    "calibrated to the false-alarm budget, tuned to catch a rate of "
                    f"{self._spec.unseen_rate:g})."
                ),
                evidence_metric="{metric}.alarm",
            ))  # fmt: skip
        if isinstance(self.test, NumericDrift):
            templates += [
                _held_alarm_rule("feature-scale", "scale", (
                    "A numeric feature's values spread wider than the reference's (a "
                    "sequential CUSUM on squared normal scores, calibrated to the "
                    "false-alarm budget).")),
                _held_alarm_rule("feature-shift", "shift", (
                    "A numeric feature's values moved away from the reference's (sequential "
                    "CUSUM test on normal scores): an early warning, before the window test.")),
            ]  # fmt: skip
        return templates


class PredictionDrift(ColumnDrift):
    """``prediction_drift.<output>.*``: the predicted class mix (classification), the
    predicted value (regression) and the binary score, against the reference's."""

    feeds = ("predictions",)

    def __init__(self, output: str, test: ColumnTest, context: ModelContext):
        super().__init__(names.prediction_drift_prefix(output), test, context)
        self.output = output
        self.what = "The predicted class mix" if output == "class" else "The model's output"
        self._class_names = context.class_names

    @classmethod
    def build(cls, context: ModelContext) -> list[Detector]:
        reference, spec = context.reference_spec, context.spec
        if reference is None or not spec.drift.predictions:
            return []
        columns = {"class" if context.classification else "value": (
            reference.prediction_column, not context.classification)}
        if context.task == "binary":
            columns["score"] = (reference.score_column, True)  # type: ignore[assignment]
        out: list[Detector] = []
        for output, (column, numeric) in columns.items():
            values = context.reference_column(column)
            test = None if values is None else column_test(values, numeric, spec.drift)
            if test is not None:
                out.append(cls(output, test, context))
        return out

    def update_predictions(self, batch: PredictionBatch) -> None:
        records = batch.records
        if self.output == "class":
            self.test.update_many([self._class_names[int(r.y_hat)] for r in records])  # type: ignore[arg-type]
        elif self.output == "score":
            self.test.update_many(np.array([r.score for r in records], dtype=float))  # type: ignore[arg-type]
        else:
            self.test.update_many(np.array([r.y_hat for r in records], dtype=float))  # type: ignore[arg-type]


class LabelDrift(ColumnDrift):
    """``label_drift.*``: every label (joined or not) against the reference's labels."""

    feeds = ("labels",)
    what = "The label mix"

    def __init__(self, test: ColumnTest, context: ModelContext, values: np.ndarray):
        super().__init__(names.LABEL_DRIFT_PREFIX, test, context)
        self._class_names = context.class_names if context.classification else None
        self.shares = self._share_tests(context, values) if self._class_names else RateTests()
        # Per test key: the class it watches and which way (rise, fall).
        self._watched = {key: tuple(key.rsplit("/", 1)) for key in self.shares.tests}

    @staticmethod
    def _share_tests(context: ModelContext, values: np.ndarray) -> RateTests:
        """Per class, a calibrated test on its share among the labels against the
        reference's (binary: the positive class, rising and falling; multiclass: each
        class rising, as one falling makes another rise): a label shift is told at the
        batch it shows in, not when a window's distance and p-value both agree."""
        tests = RateTests()
        n = len(values)
        classes = context.class_names
        watched = [(classes[1], "rise"), (classes[1], "fall")] if context.task == "binary" else [
            (name, "rise") for name in classes]  # fmt: skip
        for name, direction in watched:
            k = int(np.count_nonzero(values == name))
            hits = k if direction == "rise" else n - k
            tests.add(f"{name}/{direction}", RateTest(
                partial(names.label_share_test, name, direction), raised_share,
                context.spec.drift.window, baseline=observed(hits, n),
            ))  # fmt: skip
        return tests

    @classmethod
    def build(cls, context: ModelContext) -> list[Detector]:
        reference = context.reference_spec
        if reference is None or not context.spec.drift.labels:
            return []
        values = context.reference_column(reference.label_column)
        test = None if values is None else column_test(
            values, not context.classification, context.spec.drift
        )  # fmt: skip
        return [] if test is None else [cls(test, context, values)]  # type: ignore[arg-type]

    def update_labels(self, batch: LabelBatch) -> None:
        if self._class_names is None:
            self.test.update_many(np.array(batch.y, dtype=float))  # type: ignore[arg-type]
            return
        labels = [self._class_names[int(y)] for y in batch.y]
        self.test.update_many(labels)  # type: ignore[arg-type]
        observed_labels = np.array(labels, dtype=object)
        for key, test in self.shares.tests.items():
            name, direction = self._watched[key]
            hit = observed_labels == name
            test.update_many(hit if direction == "rise" else ~hit)

    def decisions(self) -> int:
        return super().decisions() + len(self.shares)

    def onsets(self) -> int:
        return self.shares.onsets

    def calibrate(self, arl0: float) -> None:
        super().calibrate(arl0)
        self.shares.calibrate(arl0)

    def readings(self, now: float | None) -> Readings:
        return {**super().readings(now), **self.shares.readings()}

    def reading_names(self) -> list[str]:
        return [*super().reading_names(), *self.shares.reading_names()]

    def rule_templates(self) -> list[RuleTemplate]:
        if not len(self.shares):
            return super().rule_templates()
        return [*super().rule_templates(), RuleTemplate(
            name=f"{self.name}-share",
            metric=names.label_share_test("*", "*", "alarm"), op=">=", threshold=1.0,
            severity="warning", hysteresis=0.5,
            description=(
                "A class's share among the labels moved from the reference's (a "
                "sequential test per class, calibrated to the false-alarm budget, tuned to "
                f"a change of {SHARE_SHIFT:g} or {SHARE_FRACTION:.0%} of the rarer side's share)."
            ),
        )]  # fmt: skip

    def snapshot(self) -> dict[str, Any]:
        return {**super().snapshot(), "shares": self.shares.snapshot()}

    def restore(self, state: dict[str, Any]) -> None:
        super().restore(state)
        self.shares.restore(state.get("shares", {}))  # absent before 0.9
