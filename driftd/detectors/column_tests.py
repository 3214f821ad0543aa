"""The window tests of one column against its reference: numeric and categorical.

A test keeps a ring of the column's recent values and, at each evaluation tick,
compares it with the reference sorted or counted once per model: numeric -> PSI,
Jensen-Shannon, normalised Wasserstein, KS statistic and p-value, plus the sequential
shift and scale tests fed value by value; categorical -> chi-square, Jensen-Shannon and
unseen categories. The detectors that own these tests (features, outputs, labels) and
their rules are in :mod:`driftd.detectors.drift`.
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

import numpy as np
from scipy import stats as scipy_stats

from driftd.config import DriftSpec
from driftd.detectors import stats
from driftd.detectors.rate_test import observed
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


class WindowStatistics(NamedTuple):
    """A numeric window against its reference (the Wasserstein distance not normalised)."""

    psi: float
    jensenshannon: float
    ks_statistic: float
    ks_pvalue: float
    wasserstein: float


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
        self.generation = 0  # counts changes of the window (its statistics are cached)

    def update(self, value: float) -> None:
        self.update_many(np.array([value], dtype=float))

    def update_many(self, values: np.ndarray) -> list[int]:
        """Values in arrival order, NaN for missing or non-finite ones; returns the
        positions among the finite ones where the shift test raised an alarm."""
        is_finite = np.isfinite(values)
        finite = values[is_finite]
        below, equal = self._reference.ranks(finite)
        self.keep(values, is_finite, below)
        if not len(finite):
            return []
        z = self.shift.scores_of_ranks(below, equal)
        self.scale.update_scores(z)
        return self.shift.update_scores(z)

    @property
    def reference(self) -> stats.SortedReference:
        return self._reference

    def keep(self, values: np.ndarray, is_finite: np.ndarray, below: np.ndarray) -> None:
        """Into the window: a batch's values and the finite ones' reference ranks (the
        sequential tests are fed apart: here, or a model's features at once by
        :class:`~driftd.detectors.numeric_columns.NumericColumns`)."""
        self.generation += 1
        self._values.extend(values)
        self._below.extend(below if len(below) == len(values) else
                           self._ring_ranks(is_finite, below))  # fmt: skip

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
        return self.assemble(*self.window_statistics())

    def window_statistics(self) -> tuple[int, WindowStatistics | None]:
        """The window's finite values, and its statistics (None below ``min_samples``)."""
        current = self.current()
        if len(current) < self._spec.min_samples:
            return len(current), None
        counts = stats.bin_counts(current, self._edges)
        ks_statistic, ks_pvalue, wasserstein = self._reference.compare(
            current, self._current_ranks())
        return len(current), WindowStatistics(
            stats.psi(self._reference_counts, counts),
            stats.jensenshannon(self._reference_counts, counts),
            ks_statistic, ks_pvalue, wasserstein)  # fmt: skip

    def assemble(self, samples: int, found: WindowStatistics | None) -> Readings:
        """The readings of a window of ``samples`` finite values whose statistics are
        ``found`` (None below ``drift.min_samples``): computed here, or for a model's
        features at once (:class:`~driftd.detectors.numeric_columns.NumericColumns`)."""
        out: Readings = {"samples": float(samples), **self.shift.readings(),
                         **self.scale.readings()}  # fmt: skip
        if found is None:
            return out
        out.update(
            psi=found.psi,
            jensenshannon=found.jensenshannon,
            wasserstein=found.wasserstein / self._scale,
            ks_statistic=found.ks_statistic,
            ks_pvalue=found.ks_pvalue,
            significant=float(found.ks_pvalue < self.significance),
        )
        out["drifted"] = _drifted(out, self.verdict)
        return out

    @property
    def bins(self) -> tuple[np.ndarray, np.ndarray]:
        """The reference's inner quantile bin edges and its counts per bin."""
        return self._edges, self._reference_counts

    @property
    def min_samples(self) -> int:
        return self._spec.min_samples

    def window(self) -> tuple[np.ndarray, np.ndarray]:
        """The ring in arrival order: values (NaN when not finite) and reference ranks."""
        return self._values.values(), self._below.values()

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

    def shard_state(self) -> dict[str, bytes]:
        """The window for a shard's summary: values and their reference ranks (-1: not
        finite) as packed numpy rows, which the merge joins and restores without a
        conversion or a search."""
        values, below = self.window()
        return {"values": values.tobytes(), "below": below.astype(np.int32).tobytes()}

    def restore(self, state: dict[str, Any]) -> None:
        """From a snapshot, or a merge of shard states (packed, ranks included)."""
        self.generation += 1
        values, below = state["values"], state.get("below", [])
        if isinstance(values, bytes):
            values = np.frombuffer(values, dtype=np.float64)
        if isinstance(below, bytes):
            below = np.frombuffer(below, dtype=np.int32)
        self._values.restore(values)
        self._below.restore(below)
        if len(self._below) != len(self._values):
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
