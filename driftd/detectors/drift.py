"""Distribution drift of one column (a feature, the score, the label) against the reference.

Per event the detector only appends to a ring of the last ``window`` values (and,
for numeric columns, feeds a sequential shift test: detectors/shift.py).
Per evaluation tick it computes, against the reference sorted or binned once at
start: numeric -> PSI, Jensen-Shannon distance, normalised Wasserstein distance,
KS statistic and p-value; categorical -> chi-square p-value, Jensen-Shannon
distance and the share of categories never seen in the reference.

The verdict (``drifted``) uses one default test per kind, chosen like Evidently:
with a small reference (<= ``auto_small_reference`` rows) a hypothesis test
(KS, chi-square at p < 0.05); with a larger one a distance, because p-values on
thousands of rows flag differences too small to matter (Wasserstein normalised by
the reference's standard deviation >= 0.1, Jensen-Shannon >= 0.1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from driftd.config import DriftSpec
from driftd.detectors import stats
from driftd.detectors.base import Readings
from driftd.detectors.ring import RingBuffer
from driftd.detectors.shift import ShiftCusum


def _verdict(value: float | None, threshold: float, lower_is_drift: bool) -> float | None:
    if value is None:
        return None
    return float(value < threshold if lower_is_drift else value >= threshold)


class NumericDrift:
    """Drift of a numeric column: a ring of recent values against the sorted reference."""

    def __init__(self, reference: np.ndarray, spec: DriftSpec, window: int | None = None):
        reference = reference[np.isfinite(reference)]
        if len(reference) == 0:
            raise ValueError("the reference column has no finite values")
        self._reference = np.sort(reference)
        self._edges = stats.quantile_edges(self._reference, spec.bins)
        self._reference_counts = stats.bin_counts(self._reference, self._edges)
        std = float(np.std(self._reference))
        self._scale = std if std > 0 else 1.0
        self._values = RingBuffer(window or spec.window)
        # Sequential: a shift shows value by value, before the window test sees it.
        self.shift = ShiftCusum(self._reference, spec.shift_allowance, spec.shift_threshold,
                                hold=window or spec.window)  # fmt: skip
        test = spec.numeric_test
        if test == "auto":
            test = "ks" if len(self._reference) <= spec.auto_small_reference else "wasserstein"
        self.test = test
        self._spec = spec

    def update(self, value: float) -> None:
        self.update_many(np.array([value], dtype=float))

    def update_many(self, values: np.ndarray) -> list[int]:
        """Values in arrival order, NaN for missing or non-finite ones; returns the
        positions among the finite ones where the shift test raised an alarm."""
        self._values.extend(values)
        finite = values[np.isfinite(values)]
        return self.shift.update_many(finite) if len(finite) else []

    def current(self) -> np.ndarray:
        values = self._values.values()
        return np.sort(values[np.isfinite(values)])

    def readings(self) -> Readings:
        current = self.current()
        out: Readings = {"samples": float(len(current)), **self.shift.readings()}
        if len(current) < self._spec.min_samples:
            return out
        counts = stats.bin_counts(current, self._edges)
        ks_statistic, ks_pvalue, wasserstein = stats.ks_wasserstein_sorted(self._reference, current)
        out.update(
            psi=stats.psi(self._reference_counts, counts),
            jensenshannon=stats.jensenshannon(self._reference_counts, counts),
            wasserstein=wasserstein / self._scale,
            ks_statistic=ks_statistic,
            ks_pvalue=ks_pvalue,
        )
        spec = self._spec
        rule = {
            "ks": ("ks_pvalue", spec.ks_pvalue, True),
            "wasserstein": ("wasserstein", spec.wasserstein, False),
            "psi": ("psi", spec.psi, False),
            "jensenshannon": ("jensenshannon", spec.jensenshannon, False),
        }[self.test]
        out["drifted"] = _verdict(out[rule[0]], rule[1], rule[2])
        return out

    def default_rule(self) -> tuple[str, str, float]:
        """(statistic, comparison, threshold) of the default verdict, for alert rules."""
        spec = self._spec
        return {
            "ks": ("ks_pvalue", "<", spec.ks_pvalue),
            "wasserstein": ("wasserstein", ">=", spec.wasserstein),
            "psi": ("psi", ">=", spec.psi),
            "jensenshannon": ("jensenshannon", ">=", spec.jensenshannon),
        }[self.test]

    def snapshot(self) -> dict[str, Any]:
        return {"values": self._values.snapshot(), "shift": self.shift.snapshot()}

    def restore(self, state: dict[str, Any]) -> None:
        self._values.restore(state["values"])
        if "shift" in state:  # (checkpoints before 0.6.0 have none: it starts afresh)
            self.shift.restore(state["shift"])


class CategoricalDrift:
    """Drift of a categorical column: category codes in a ring against reference counts."""

    def __init__(self, reference: np.ndarray, spec: DriftSpec, window: int | None = None):
        categories, counts = np.unique(reference.astype(str), return_counts=True)
        if len(categories) == 0:
            raise ValueError("the reference column has no values")
        self.categories = [str(c) for c in categories]
        self._codes = {name: index for index, name in enumerate(self.categories)}
        self._reference_counts = counts.astype(float)
        self._unseen = len(self.categories)
        self._values = RingBuffer(window or spec.window, np.int32)
        test = spec.categorical_test
        if test == "auto":
            test = "chisquare" if len(reference) <= spec.auto_small_reference else "jensenshannon"
        self.test = test
        self._spec = spec

    def update(self, category: str) -> None:
        self._values.append(self._codes.get(category, self._unseen))

    def update_many(self, categories: list[str]) -> None:
        codes, unseen = self._codes, self._unseen
        self._values.extend(np.fromiter((codes.get(c, unseen) for c in categories), np.int32))

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
            proportions = self._reference_counts / self._reference_counts.sum()
            out["chisquare_pvalue"] = stats.chisquare_gof(known, proportions)[1]
        else:
            out["chisquare_pvalue"] = None
        statistic, threshold, lower = self._rule()
        out["drifted"] = _verdict(out[statistic], threshold, lower)
        return out

    def _rule(self) -> tuple[str, float, bool]:
        if self.test == "chisquare":
            return "chisquare_pvalue", self._spec.chisquare_pvalue, True
        return "jensenshannon", self._spec.jensenshannon, False

    def default_rule(self) -> tuple[str, str, float]:
        statistic, threshold, lower = self._rule()
        return statistic, "<" if lower else ">=", threshold

    def snapshot(self) -> dict[str, Any]:
        return {"values": self._values.snapshot()}

    def restore(self, state: dict[str, Any]) -> None:
        self._values.restore(state["values"])
