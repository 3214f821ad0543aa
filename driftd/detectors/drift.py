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

import itertools
from functools import partial
from typing import Any, ClassVar, NamedTuple

import numpy as np
from scipy import stats as scipy_stats

from driftd.config import DriftSpec
from driftd.detectors import readings as names
from driftd.detectors import stats
from driftd.detectors.base import Detector, LabelBatch, PredictionBatch, RuleTemplate
from driftd.detectors.context import ModelContext
from driftd.detectors.rate_test import (
    SHARE_FRACTION,
    SHARE_SHIFT,
    RateTest,
    RateTests,
    observed,
    raised_share,
)
from driftd.detectors.readings import Readings
from driftd.detectors.ring import RingBuffer
from driftd.detectors.scale import ScaleCusum, calibrate_scale
from driftd.detectors.shift import ShiftCusum, calibrate_shift
from driftd.values import readable_number

# (statistic, comparison that means drift, threshold): the verdict of one test.
Verdict = tuple[str, str, float]
DEFAULT_SIGNIFICANCE = 0.001  # before calibration, or without a budget


def _drifted(readings: Readings, verdict: Verdict) -> float | None:
    """1 when the effect passes its threshold and the difference is significant."""
    statistic, op, threshold = verdict
    value = readings.get(statistic)
    if value is None:
        return None
    effect = value < threshold if op == "<" else value >= threshold
    return float(effect and readings.get("significant") == 1.0)


class NumericDrift:
    """Drift of a numeric column: a ring of recent values against the sorted reference."""

    def __init__(self, reference: np.ndarray | stats.SortedReference, spec: DriftSpec,
                 window: int | None = None):  # fmt: skip
        if not isinstance(reference, stats.SortedReference):
            reference = reference[np.isfinite(reference)]
            if len(reference) == 0:
                raise ValueError("the reference column has no finite values")
            reference = stats.SortedReference(reference)
        # Read only: shared by every monitor of the model (detectors/summaries.py).
        self._reference = reference
        self._edges = stats.quantile_edges(self._reference.values, spec.bins)
        self._reference_counts = stats.bin_counts(self._reference.values, self._edges)
        std = float(np.std(self._reference.values))
        self._scale = std if std > 0 else 1.0
        self._values = RingBuffer(window or spec.window)
        # Per value in the ring, the reference values below it (-1: not finite), found
        # once when it arrives (the shift test needs them then) and reused at each tick.
        self._below = RingBuffer(window or spec.window, np.int32)
        # Sequential: a shift shows value by value, before the window test sees it.
        # Until calibrated (FeatureDrift.calibrate), the threshold of a budget of 1 per
        # 1M events shared by 30 tests.
        threshold = spec.shift_threshold or calibrate_shift(spec.shift_allowance, 3e7)
        self.shift = ShiftCusum(self._reference, spec.shift_allowance, threshold,
                                hold=window or spec.window)  # fmt: skip
        # ...and a wider spread (CUSUM on squared normal scores), calibrated likewise.
        self.scale = ScaleCusum(calibrate_scale(3e7), hold=window or spec.window)
        test = spec.numeric_test
        if test == "auto":
            test = "ks" if self._reference.n <= spec.auto_small_reference else "wasserstein"
        self.test = test
        self._spec = spec
        # The level of the significance test (ColumnDrift.calibrate sets it from the
        # budget unless drift.significance is set).
        self.significance = spec.significance or DEFAULT_SIGNIFICANCE

    def update(self, value: float) -> None:
        self.update_many(np.array([value], dtype=float))

    def update_many(self, values: np.ndarray) -> list[int]:
        """Values in arrival order, NaN for missing or non-finite ones; returns the
        positions among the finite ones where the shift test raised an alarm."""
        self._values.extend(values)
        is_finite = np.isfinite(values)
        finite = values[is_finite]
        below, equal = self._reference.ranks(finite)
        self._below.extend(self._ring_ranks(is_finite, below))
        if not len(finite):
            return []
        z = self.shift.scores_of_ranks(below, equal)
        self.scale.update_scores(z)
        return self.shift.update_scores(z)

    @staticmethod
    def _ring_ranks(is_finite: np.ndarray, below: np.ndarray) -> np.ndarray:
        ranks = np.full(len(is_finite), -1, dtype=np.int32)
        ranks[is_finite] = below
        return ranks

    def current(self) -> np.ndarray:
        values = self._values.values()
        return np.sort(values[np.isfinite(values)])

    def _current_ranks(self) -> np.ndarray:
        """The window's finite values' ranks, sorted (aligned with ``current()``)."""
        ranks = self._below.values()
        return np.sort(ranks[ranks >= 0])

    def readings(self) -> Readings:
        current = self.current()
        out: Readings = {"samples": float(len(current)), **self.shift.readings(),
                         **self.scale.readings()}  # fmt: skip
        if len(current) < self._spec.min_samples:
            return out
        counts = stats.bin_counts(current, self._edges)
        ranks = self._current_ranks()
        ks_statistic, ks_pvalue, wasserstein = self._reference.compare(current, ranks)
        out.update(
            psi=stats.psi(self._reference_counts, counts),
            jensenshannon=stats.jensenshannon(self._reference_counts, counts),
            wasserstein=wasserstein / self._scale,
            ks_statistic=ks_statistic,
            ks_pvalue=ks_pvalue,
            significant=float(ks_pvalue < self.significance),
        )
        out["drifted"] = _drifted(out, self.verdict)
        return out

    @property
    def verdict(self) -> Verdict:
        """The effect size behind ``drifted``, the comparison meaning drift, the
        threshold (``drifted`` also needs ``significant``: KS at ``drift.significance``)."""
        spec = self._spec
        return {
            "ks": ("ks_statistic", ">=", spec.ks_statistic),
            "wasserstein": ("wasserstein", ">=", spec.wasserstein),
            "psi": ("psi", ">=", spec.psi),
            "jensenshannon": ("jensenshannon", ">=", spec.jensenshannon),
        }[self.test]

    def distribution(self) -> Distribution:
        """Reference vs window shares per bin (the reference's quantile bins): what a
        person compares when the drift alert fires."""
        edges = self._edges.tolist()
        bounds = [None, *edges, None]
        labels = [_bin_label(lo, hi) for lo, hi in itertools.pairwise(bounds)]
        current = stats.bin_counts(self.current(), self._edges)
        return Distribution(labels, _shares(self._reference_counts), _shares(current))

    def statistics(self) -> list[str]:
        """Every name ``readings`` can return."""
        return ["samples", *self.shift.readings(), *self.scale.readings(), "psi",
                "jensenshannon", "wasserstein",
                "ks_statistic", "ks_pvalue", "significant", "drifted"]  # fmt: skip

    def snapshot(self) -> dict[str, Any]:
        return {"values": self._values.snapshot(), "shift": self.shift.snapshot(),
                "scale": self.scale.snapshot()}  # fmt: skip

    def restore(self, state: dict[str, Any]) -> None:
        self._values.restore(state["values"])
        values = self._values.values()
        is_finite = np.isfinite(values)
        below = self._reference.ranks(values[is_finite])[0]
        self._below.restore(self._ring_ranks(is_finite, below))  # type: ignore[arg-type]
        if "shift" in state:  # (checkpoints before 0.6.0 have none: it starts afresh)
            self.shift.restore(state["shift"])
        if "scale" in state:  # (nor before 0.9.0)
            self.scale.restore(state["scale"])


class CategoricalDrift:
    """Drift of a categorical column: category codes in a ring against reference counts."""

    def __init__(self, reference: np.ndarray | tuple[list[str], np.ndarray], spec: DriftSpec,
                 window: int | None = None):  # fmt: skip
        """``reference``: the present values, or their categories and counts."""
        if isinstance(reference, tuple):
            categories, counts = reference
        else:
            categories, counts = np.unique(reference.astype(str), return_counts=True)
        if len(categories) == 0:
            raise ValueError("the reference column has no values")
        self.categories = [str(c) for c in categories]
        self._codes = {name: index for index, name in enumerate(self.categories)}
        self._reference_counts = counts.astype(float)
        self._unseen = len(self.categories)
        # The chance that a new value is a category the reference lacks: Good-Turing's
        # estimate (the share of reference rows whose category appears once), as the
        # Beta it is known as (the unseen test calibrates over it) and its mean.
        n = int(counts.sum())
        self.unseen_baseline = observed(int((counts == 1).sum()), n)
        self.unseen_chance = self.unseen_baseline[0] / sum(self.unseen_baseline)
        self._values = RingBuffer(window or spec.window, np.int32)
        test = spec.categorical_test
        if test == "auto":
            test = "chisquare" if n <= spec.auto_small_reference else "jensenshannon"
        self.test = test
        self._spec = spec
        self.significance = spec.significance or DEFAULT_SIGNIFICANCE

    def update(self, category: str) -> None:
        self._values.append(self._codes.get(category, self._unseen))

    def update_many(self, categories: list[str]) -> np.ndarray:
        """Categories in arrival order; returns which were unseen in the reference."""
        codes, unseen = self._codes, self._unseen
        batch = np.fromiter((codes.get(c, unseen) for c in categories), np.int32)
        self._values.extend(batch)
        return batch == unseen

    def readings(self) -> Readings:
        codes = self._values.values()
        out: Readings = {"samples": float(len(codes))}
        if len(codes) < self._spec.min_samples:
            return out
        counts = np.bincount(codes, minlength=self._unseen + 1).astype(float)
        known = counts[: self._unseen]
        reference_with_unseen = np.append(self._reference_counts, 0.0)
        out["unseen_rate"] = counts[self._unseen] / len(codes)
        out["jensenshannon"] = stats.jensenshannon(reference_with_unseen, counts)
        if known.sum() > 0 and len(known) > 1:
            out["chisquare_pvalue"] = stats.chisquare_two_sample(self._reference_counts, known)
        else:
            out["chisquare_pvalue"] = None
        # Beta-binomial: the chance of an unseen category is itself estimated.
        unseen_pvalue = float(scipy_stats.betabinom.sf(counts[self._unseen] - 1, len(codes),
                                                       *self.unseen_baseline))  # fmt: skip
        pvalues = [unseen_pvalue, out["chisquare_pvalue"]]
        out["significant"] = float(min(p for p in pvalues if p is not None)
                                   < self.significance)  # fmt: skip
        out["drifted"] = _drifted(out, self.verdict)
        return out

    @property
    def verdict(self) -> Verdict:
        """The effect size behind ``drifted`` (Jensen-Shannon distance, unseen
        categories included), the comparison, the threshold; ``drifted`` also needs
        ``significant``: chi-square on the known categories, or a beta-binomial test on the
        unseen ones, at ``drift.significance``."""
        return "jensenshannon", ">=", self._spec.jensenshannon

    def distribution(self) -> Distribution:
        """Reference vs window shares per category; categories the reference lacks
        together as ``(unseen)``."""
        counts = np.bincount(self._values.values(), minlength=self._unseen + 1).astype(float)
        reference = np.append(self._reference_counts, 0.0)
        return Distribution([*self.categories, "(unseen)"], _shares(reference), _shares(counts))

    def statistics(self) -> list[str]:
        """Every name ``readings`` can return."""
        return ["samples", "unseen_rate", "jensenshannon", "chisquare_pvalue", "significant",
                "drifted"]  # fmt: skip

    def snapshot(self) -> dict[str, Any]:
        return {"values": self._values.snapshot()}

    def restore(self, state: dict[str, Any]) -> None:
        self._values.restore(state["values"])


ColumnTest = NumericDrift | CategoricalDrift


class Distribution(NamedTuple):
    labels: list[str]
    reference: list[float]  # shares, summing to 1 (0s without data)
    current: list[float]


def _bin_label(low: float | None, high: float | None) -> str:
    if low is None:
        return f"<= {readable_number(high)}"  # type: ignore[arg-type]
    if high is None:
        return f"> {readable_number(low)}"
    return f"({readable_number(low)}, {readable_number(high)}]"


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return (counts / total if total > 0 else counts).tolist()


def column_test(values: np.ndarray, numeric: bool, spec: DriftSpec) -> ColumnTest | None:
    """The drift test of one reference column; None when the column has no usable values."""
    try:
        if numeric:
            return NumericDrift(values.astype(float), spec)
        return CategoricalDrift(values[values != ""], spec)
    except ValueError:
        return None


class ColumnDrift(Detector):
    """A column of the model's traffic (a feature, an output, the label) against the
    reference's; ``<prefix>.<statistic>`` readings and a default drift rule."""

    # How the default rule names the column ("Feature 'age'", "The label mix"...).
    what: str
    # The default rule of a distance resolves this far under its threshold (p-values
    # resolve once twice the threshold).
    RESOLVE_SHARE: ClassVar[float] = 0.2

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
        return {names.column_drift(self.name, k): v for k, v in self.test.readings().items()}

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

    def __init__(self, feature: str, test: ColumnTest, context: ModelContext):
        super().__init__(names.feature_drift_prefix(feature), test, context)
        self.feature = feature
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
        out: list[Detector] = []
        spec = context.spec.drift
        for name in context.spec.features:
            summary = context.summaries.get(name)
            test: ColumnTest | None = None
            if summary is not None and summary.values is not None:
                test = NumericDrift(summary.values, spec)
            elif summary is not None and summary.categories:
                test = CategoricalDrift((summary.categories, summary.counts), spec)  # type: ignore[arg-type]
            if test is not None:
                out.append(cls(name, test, context))
        return out

    def update_predictions(self, batch: PredictionBatch) -> None:
        unseen = self.test.update_many(batch.feature_columns[self.feature][1])
        if self.unseen is not None and len(unseen):
            self.unseen.update_many(unseen)

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
