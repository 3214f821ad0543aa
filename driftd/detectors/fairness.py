"""Fairness across the groups of one sensitive attribute, over the last N labeled events.

Per group: count, selection rate, accuracy, true and false positive rates (binary,
or multiclass with a positive class), or MAE (regression). Across groups, on the
groups with at least ``min_group_size`` rows only (smaller ones get no verdict,
because a handful of events says nothing): demographic parity difference and
ratio, equalized odds and equal opportunity differences, disparate impact with
the four-fifths rule. The definitions are fairlearn's and are tested equal to
``fairlearn.metrics`` on the same window.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from driftd.detectors import readings as names
from driftd.detectors.base import Detector, OutcomeBatch, PredictionBatch, RuleTemplate
from driftd.detectors.context import ModelContext
from driftd.detectors.intervals import difference_lower, ratio_lower, ratio_upper, spread_upper
from driftd.detectors.rate_test import (
    SHARE_FRACTION,
    SHARE_SHIFT,
    RateTest,
    RateTests,
    WithRateTests,
    observed,
    raised_share,
)
from driftd.detectors.readings import Readings
from driftd.detectors.ring import RingBuffer

MAX_GROUPS = 64  # beyond this many distinct values, the rest count as "other"
# Group names become reading names (fairness.ATTR.group.NAME.METRIC), stored with every
# readings row: past this many characters of names per attribute, new values count as
# "other" too (64 values of the 256 characters an attribute value may have would make
# ~100 KB of names per row).
MAX_GROUP_NAME_CHARS = 2048
OTHER = "other"


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _spread(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) - min(present) if len(present) >= 2 else None


class FairnessWindow:
    """Group metrics for one sensitive attribute."""

    def __init__(self, attribute: str, size: int, min_group_size: int, mode: str):
        """mode: 'selection' (binary outcomes), 'accuracy' or 'regression'."""
        self.attribute = attribute
        self._min_group_size = min_group_size
        self._mode = mode
        self._y = RingBuffer(size)
        self._y_hat = RingBuffer(size)
        self._group = RingBuffer(size, np.int32)
        self._group_names: list[str] = []

    def _group_code(self, name: str) -> int:
        try:
            return self._group_names.index(name)
        except ValueError:
            spent = sum(map(len, self._group_names))
            if len(self._group_names) >= MAX_GROUPS or spent + len(name) > MAX_GROUP_NAME_CHARS:
                name = OTHER
                if OTHER in self._group_names:
                    return self._group_names.index(OTHER)
            self._group_names.append(name)
            return len(self._group_names) - 1

    def update_many(self, groups: list[str | None], y: np.ndarray, y_hat: np.ndarray) -> None:
        """Outcomes in join order; those without this attribute are left out."""
        keep = np.array([g is not None for g in groups], dtype=bool)
        codes = [self._group_code(g) for g in groups if g is not None]
        self._y.extend(y[keep])
        self._y_hat.extend(y_hat[keep])
        self._group.extend(np.array(codes, dtype=np.int32))

    def group_metrics(self) -> dict[str, dict[str, float | None]]:
        y, y_hat, codes = self._y.values(), self._y_hat.values(), self._group.values()
        result: dict[str, dict[str, float | None]] = {}
        for code, name in enumerate(self._group_names):
            mask = codes == code
            n = int(mask.sum())
            if n == 0:
                continue
            gy, gp = y[mask], y_hat[mask]
            row: dict[str, float | None] = {"count": float(n)}
            if self._mode == "regression":
                row["mae"] = float(np.mean(np.abs(gy - gp)))
            else:
                row["accuracy"] = float(np.mean(gy == gp))
            if self._mode == "selection":
                positives, negatives = int(np.sum(gy == 1)), int(np.sum(gy == 0))
                row["selection_rate"] = float(np.mean(gp == 1))
                row["tpr"] = _rate(int(np.sum((gy == 1) & (gp == 1))), positives)
                row["fpr"] = _rate(int(np.sum((gy == 0) & (gp == 1))), negatives)
            result[name] = row
        return result

    def _counts(self) -> dict[str, tuple[int, int, int, int, int, int]]:
        """Per group: rows, positive decisions, positive labels, true positives,
        negative labels, false positives (binary outcomes)."""
        y, y_hat, codes = self._y.values(), self._y_hat.values(), self._group.values()
        out = {}
        for code, name in enumerate(self._group_names):
            mask = codes == code
            gy, gp = y[mask] == 1, y_hat[mask] == 1
            out[name] = (int(mask.sum()), int(gp.sum()), int(gy.sum()), int((gy & gp).sum()),
                         int((~gy).sum()), int((~gy & gp).sum()))  # fmt: skip
        return out

    def bounds(self, min_cell: int) -> Readings:
        """The confidence bounds the default rules compare (:mod:`.intervals`): the
        selection ratio's upper bound (each eligible group against the most selected
        one, the lowest), and the equalized-odds gap's lower bound (TPR among groups
        with ``min_cell`` positive labels, FPR among those with ``min_cell`` negative)."""
        counts = {g: c for g, c in self._counts().items() if c[0] >= self._min_group_size}
        ratio, ratio_low, gap, gap_high = (names.fairness(self.attribute, m) for m in (
            "demographic_parity_ratio_upper", "demographic_parity_ratio_lower",
            "equalized_odds_difference_lower", "equalized_odds_difference_upper"))  # fmt: skip
        out: Readings = {ratio: None, ratio_low: None, gap: None, gap_high: None}
        if len(counts) >= 2:
            top = max(counts.values(), key=lambda c: c[1] / c[0])
            if top[1]:
                others = [c for c in counts.values() if c is not top]
                out[ratio] = min(ratio_upper(c[1], c[0], top[1], top[0]) for c in others)
                out[ratio_low] = min(ratio_lower(c[1], c[0], top[1], top[0]) for c in others)
        gaps, highs = [], []
        for hits, base in ((3, 2), (5, 4)):  # TPR: TP of positives; FPR: FP of negatives
            cells = [(c[hits], c[base]) for c in counts.values() if c[base] >= min_cell]
            if len(cells) >= 2:
                ranked = sorted(cells, key=lambda c: c[0] / c[1])
                low, high = ranked[0], ranked[-1]
                gaps.append(difference_lower(high[0], high[1], low[0], low[1]))
                highs.append(spread_upper(cells))
        if gaps:
            out[gap], out[gap_high] = max(gaps), max(highs)
        return out

    def readings(self) -> Readings:
        groups = self.group_metrics()
        attribute = self.attribute
        out: Readings = {}
        for name, row in groups.items():
            for metric, value in row.items():
                out[names.fairness_group(attribute, name, metric)] = value
        eligible = [row for row in groups.values() if row["count"] >= self._min_group_size]
        out[names.fairness(attribute, "eligible_groups")] = float(len(eligible))
        if len(eligible) < 2:
            return out
        if self._mode == "regression":
            out[names.fairness(attribute, "mae_difference")] = _spread([r["mae"] for r in eligible])
            return out
        accuracy = _spread([r["accuracy"] for r in eligible])
        out[names.fairness(attribute, "accuracy_difference")] = accuracy
        if self._mode != "selection":
            return out
        selection = [float(r["selection_rate"] or 0.0) for r in eligible]
        tpr_spread = _spread([r["tpr"] for r in eligible])
        fpr_spread = _spread([r["fpr"] for r in eligible])
        ratio = min(selection) / max(selection) if max(selection) > 0 else None
        across = {
            "demographic_parity_difference": max(selection) - min(selection),
            "demographic_parity_ratio": ratio,
            "disparate_impact": ratio,
            "four_fifths_rule": None if ratio is None else float(ratio >= 0.8),
            "equal_opportunity_difference": tpr_spread,
            "equalized_odds_difference": (
                None if tpr_spread is None or fpr_spread is None else max(tpr_spread, fpr_spread)
            ),
        }
        out.update({names.fairness(attribute, k): v for k, v in across.items()})
        return out

    def snapshot(self) -> dict[str, Any]:
        return {
            "y": self._y.snapshot(),
            "y_hat": self._y_hat.snapshot(),
            "group": self._group.snapshot(),
            "group_names": list(self._group_names),
        }

    def merge(self, states: list[dict[str, Any]]) -> dict[str, Any]:
        """The shards' windows side by side, each shard's group codes renumbered into
        one list of names (the shards met the groups in different orders)."""
        names = FairnessWindow(self.attribute, 1, self._min_group_size, self._mode)
        y: list[Any] = []
        y_hat: list[Any] = []
        codes: list[int] = []
        for state in states:
            renumber = np.array([names._group_code(n) for n in state["group_names"]], np.int64)
            y += state["y"]
            y_hat += state["y_hat"]
            if state["group"]:
                codes += renumber[np.asarray(state["group"], dtype=np.int64)].tolist()
        return {"y": y, "y_hat": y_hat, "group": codes, "group_names": names._group_names}

    def restore(self, state: dict[str, Any]) -> None:
        self._y.restore(state["y"])
        self._y_hat.restore(state["y_hat"])
        self._group.restore(state["group"])
        self._group_names = list(state["group_names"])


_MODES = {"binary": "selection", "multiclass": "accuracy", "regression": "regression"}
_GROUP_METRICS = {
    "selection": ("count", "accuracy", "selection_rate", "tpr", "fpr"),
    "accuracy": ("count", "accuracy"),
    "regression": ("count", "mae"),
}
_ACROSS = {
    "selection": ("accuracy_difference", "demographic_parity_difference",
                  "demographic_parity_ratio", "disparate_impact", "four_fifths_rule",
                  "equal_opportunity_difference", "equalized_odds_difference"),
    "accuracy": ("accuracy_difference",),
    "regression": ("mae_difference",),
}  # fmt: skip


def _reference_ratio(context: ModelContext, attribute: str) -> float | None:
    """The reference's selection-rate ratio (lowest / highest, groups of at least
    ``min_group_size`` rows), or None without the columns."""
    reference = context.reference_spec
    if reference is None:
        return None
    groups = context.reference_column(attribute)
    predictions = context.reference_column(reference.prediction_column)
    if groups is None or predictions is None:
        return None
    selected = predictions == context.class_names[1]
    smallest = context.spec.fairness.min_group_size
    rates = [float(selected[groups == g].mean()) for g in np.unique(groups)
             if g != "" and (groups == g).sum() >= smallest]  # fmt: skip
    if len(rates) < 2 or max(rates) == 0:
        return None
    return min(rates) / max(rates)


def _selection_tests(context: ModelContext, attribute: str) -> dict[str, RateTest]:
    """Per group but the reference's most selected one: a calibrated test on its share
    of *negative* decisions rising against the reference's, read off the predictions
    (no waiting for labels). A group losing positive decisions is told at the batch
    it shows in; a fall for the most selected group narrows the gap, so it has none."""
    reference = context.reference_spec
    if reference is None or context.task != "binary":
        return {}
    groups = context.reference_column(attribute)
    predictions = context.reference_column(reference.prediction_column)
    if groups is None or predictions is None:
        return {}
    selected = predictions == context.class_names[1]
    smallest = context.spec.fairness.min_group_size
    counts = {str(g): (int((groups == g).sum()), int((selected & (groups == g)).sum()))
              for g in np.unique(groups) if g != ""}  # fmt: skip
    counts = {g: c for g, c in counts.items() if c[0] >= smallest}
    if len(counts) < 2:
        return {}
    top = max(counts, key=lambda g: counts[g][1] / counts[g][0])
    return {
        group: RateTest(partial(names.selection_test, attribute, group), raised_share,
                        context.spec.windows.size, baseline=observed(n - positive, n))
        for group, (n, positive) in counts.items()
        if group != top
    }  # fmt: skip


class FairnessDetector(WithRateTests, Detector):
    """``fairness.<attribute>.*``: one per sensitive attribute, over the last outcomes
    (and, for a group's falling selection rate, over the predictions)."""

    feeds = ("outcomes", "predictions")

    def __init__(self, context: ModelContext, attribute: str):
        spec = context.spec
        self.name = names.fairness_prefix(attribute)
        self.window = f"last {spec.windows.size} labeled events"
        self._binary = context.task == "binary"
        self._mode = _MODES[context.task]
        self._spec = spec.fairness
        self.fairness = FairnessWindow(attribute, spec.windows.size, spec.fairness.min_group_size,
                                       self._mode)  # fmt: skip

        self.reference_ratio = _reference_ratio(context, attribute) if self._binary else None
        self._selection = _selection_tests(context, attribute)
        self.tests = RateTests()
        for group, test in self._selection.items():
            self.tests.add(group, test)

    @classmethod
    def build(cls, context: ModelContext) -> list[Detector]:
        return [cls(context, attribute) for attribute in context.spec.sensitive_attributes]

    def update_outcomes(self, batch: OutcomeBatch) -> None:
        groups = batch.groups(self.fairness.attribute)
        if self._binary:  # selection: positive predictions and labels as 0/1
            self.fairness.update_many(groups, (batch.y == 1).astype(float),
                                      (batch.y_hat == 1).astype(float))  # fmt: skip
        else:
            self.fairness.update_many(groups, batch.y, batch.y_hat)

    def update_predictions(self, batch: PredictionBatch) -> None:
        if not self._selection:
            return
        attribute = self.fairness.attribute
        groups = np.array([r.groups.get(attribute, "") for r in batch.records], dtype=object)
        refused = np.array([r.y_hat != 1 for r in batch.records])
        for group, test in self._selection.items():
            test.update_many(refused[groups == group])

    def readings(self, now: float | None) -> Readings:
        out = self.fairness.readings()
        if self._binary:
            out.update(self.fairness.bounds(self._spec.min_cell))
        out.update(self.tests.readings())
        return out

    def reading_names(self) -> list[str]:
        attribute = self.fairness.attribute
        bounds = ("demographic_parity_ratio_upper", "demographic_parity_ratio_lower",
                  "equalized_odds_difference_lower", "equalized_odds_difference_upper")
        return [
            *(names.fairness_group(attribute, "{group}", m) for m in _GROUP_METRICS[self._mode]),
            names.fairness(attribute, "eligible_groups"),
            *(names.fairness(attribute, m) for m in _ACROSS[self._mode]),
            *(names.fairness(attribute, m) for m in (bounds if self._binary else ())),
            *self.tests.reading_names(),
        ]

    def rule_templates(self) -> list[RuleTemplate]:
        """Binary models: the four-fifths rule and equalized odds across the groups."""
        if not self._binary:
            return []
        attribute, spec = self.fairness.attribute, self._spec
        return [
            RuleTemplate(
                name=f"fairness-{attribute}-four-fifths",
                metric=names.fairness(attribute, "demographic_parity_ratio_upper"),
                op="<", threshold=spec.demographic_parity_ratio, severity="critical",
                hysteresis=0.05, escalate_step=0.05,
                escalate_from=names.fairness(attribute, "demographic_parity_ratio_lower"),
                description=(
                    f"Selection rates across {attribute!r} groups differ beyond the "
                    "four-fifths rule: even the upper 99% confidence bound of lowest / "
                    f"highest is below {spec.demographic_parity_ratio:g}."
                ),
            ),
            RuleTemplate(
                name=f"fairness-{attribute}-equalized-odds",
                metric=names.fairness(attribute, "equalized_odds_difference_lower"),
                op=">", threshold=spec.equalized_odds_difference, severity="warning",
                hysteresis=0.02, escalate_step=0.05,
                escalate_from=names.fairness(attribute, "equalized_odds_difference_upper"),
                description=(
                    f"True/false positive rates differ across {attribute!r} groups: even "
                    "the lower 99% confidence bound of the gap is above "
                    f"{spec.equalized_odds_difference:g} (groups with {spec.min_cell} "
                    "positive / negative labels)."
                ),
            ),
            *self._worsened(),
            *self._selection_fell(),
        ]  # fmt: skip

    def _selection_fell(self) -> list[RuleTemplate]:
        if not self._selection:
            return []
        attribute = self.fairness.attribute
        return [RuleTemplate(
            name=f"fairness-{attribute}-selection-fell",
            metric=names.selection_test(attribute, "*", "alarm"), op=">=", threshold=1.0,
            severity="warning", hysteresis=0.5,
            description=(
                f"A {attribute!r} group gets fewer positive decisions than in the reference "
                "(a sequential test per group on its predictions, calibrated to the "
                f"false-alarm budget, tuned to a fall of its selection rate by "
                f"{SHARE_SHIFT:g} or {SHARE_FRACTION:.0%} of the rarer side's share); not "
                "for the group the reference selected most."
            ),
        )]  # fmt: skip

    def _worsened(self) -> list[RuleTemplate]:
        """Never hide a regression: a model already below the four-fifths line still
        alerts when its selection ratio falls ``max_worsening`` below the reference's."""
        attribute, spec = self.fairness.attribute, self._spec
        if self.reference_ratio is None:
            return []
        threshold = round(self.reference_ratio - spec.max_worsening, 6)
        if not 0 < threshold < spec.demographic_parity_ratio:
            return []  # the four-fifths rule already covers it
        return [RuleTemplate(
            name=f"fairness-{attribute}-parity-worsened",
            metric=names.fairness(attribute, "demographic_parity_ratio_upper"),
            op="<", threshold=threshold, severity="critical", hysteresis=0.02,
            escalate_step=0.05,
            escalate_from=names.fairness(attribute, "demographic_parity_ratio_lower"),
            description=(
                f"The selection ratio across {attribute!r} groups worsened: its upper 99% "
                f"confidence bound is more than {spec.max_worsening:g} below the "
                f"reference's {self.reference_ratio:.3f}."
            ),
        )]  # fmt: skip

    def snapshot(self) -> dict[str, Any]:
        return {**self.fairness.snapshot(), "selection": self.tests.snapshot()}

    def shard_state(self) -> dict[str, Any]:
        return self.fairness.snapshot()  # the selection tests stay per shard

    def merge(self, states: list[Any]) -> dict[str, Any]:
        return self.fairness.merge(states)

    def restore(self, state: dict[str, Any]) -> None:
        self.fairness.restore(state)
        self.tests.restore(state.get("selection", {}))  # absent before 0.9
