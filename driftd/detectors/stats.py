"""Two-sample statistics used by the drift detectors, as plain numpy functions.

Each mirrors the scipy function named in its docstring and is tested equal to it
(1e-9). They exist because the reference side is sorted or binned once at start
and reused on every evaluation, which scipy's one-shot API cannot do.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import special
from scipy import stats as sps

PROPORTION_FLOOR = 1e-4  # PSI's usual guard against log(0) on empty bins


class SortedReference:
    """A reference sample sorted once: a window is compared with it by binary searches of
    the window's values and O(W) arithmetic, not by merging the two samples at every tick
    (a sort of R + W values; only a prefix sum of the reference remains O(R), in C).

    Both statistics read the empirical CDFs F (reference) and G (window). G is a step
    function that is constant between consecutive distinct window values, so:

    - KS: on each such interval F is monotone, so ``|F - G|`` is largest at its ends:
      F at the window value (a right search) and just before the next one (a left
      search). The values compared are the ones scipy compares at the pooled points.
    - Wasserstein, the integral of ``|F - G|``: with ``P(t)``, the integral of F up to
      t, equal to ``(m t - S_m) / R`` (m reference values <= t, S_m their sum), each
      interval's integral is closed-form once split where F crosses G's level (at a
      reference order statistic). Values are centred on the reference's median so the
      prefix sums stay small (the rounding stays ~1e-13 of the data's spread).
    """

    def __init__(self, values: np.ndarray):
        self.values = np.sort(values)
        self.n = len(self.values)
        self._centre = float(self.values[self.n // 2])

    def _integral(self, t: np.ndarray, m: np.ndarray, sums: np.ndarray) -> np.ndarray:
        """P(t): the integral of the reference's CDF up to centred ``t``, given the
        count ``m`` of reference values <= t and the prefix sums of the centred values."""
        return (m * t - sums[m]) / self.n

    def ranks(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each value, the reference values below it and those equal to it.

        One binary search per value; a second only for values the reference holds (to
        count their ties: rare for continuous columns)."""
        below = np.searchsorted(self.values, values, side="left")
        return below, self._ties(values, below)

    def _ties(self, values: np.ndarray, below: np.ndarray) -> np.ndarray:
        """The reference values equal to each value, given those below it."""
        equal = np.zeros(len(values), dtype=below.dtype)
        held = np.flatnonzero(self.values[np.minimum(below, self.n - 1)] == values)
        if len(held):
            equal[held] = np.searchsorted(self.values, values[held], side="right") - below[held]
        return equal

    def compare(self, current: np.ndarray,
                below_sorted: np.ndarray | None = None) -> tuple[float, float, float]:  # fmt: skip
        """KS statistic, its asymptotic p-value and the Wasserstein distance between
        the reference and ``current`` (sorted, finite): equal to
        ``scipy.stats.ks_2samp(reference, current, method='asymp')`` and
        ``scipy.stats.wasserstein_distance(reference, current)``.

        ``below_sorted``: the reference values below each of ``current`` (its ``ranks``,
        sorted: ranks grow with the values, so sorting both lines them up), when the
        caller kept them from the updates; else they are searched here."""
        n, w = self.n, len(current)
        last = np.empty(w, dtype=bool)  # the last of each run of equal window values
        np.not_equal(current[1:], current[:-1], out=last[:-1])
        last[-1] = True
        at = np.flatnonzero(last)
        values = current[at]
        below = at + 1  # window values <= each distinct value (G = below / w)
        if below_sorted is None:
            left, equal = self.ranks(values)
        else:
            left = below_sorted[at].astype(np.int64)  # (kept as int32: products overflow)
            equal = self._ties(values, left)
        right = left + equal  # reference values <= each
        # F - G at each window value, and just before the next one (the first: just
        # before), in units of 1 / (n w): integers, so one statistic is always the same
        # float and its p-value is asked of the cache, not computed again (~0.3 ms).
        gaps = np.concatenate([right * w - below * n, left[1:] * w - below[:-1] * n,
                               left[:1] * w])  # fmt: skip
        statistic = int(np.max(np.abs(gaps))) / (n * w)
        g = below / w

        # Summed per call (~20 us for 10k values) rather than kept: the sorted values
        # are this object's only copy of the reference (memory per feature).
        sums = np.zeros(n + 1)
        np.cumsum(self.values - self._centre, out=sums[1:])
        t = values - self._centre
        p = self._integral(t, right, sums)
        a, b, pa, pb = t[:-1], t[1:], p[:-1], p[1:]
        level = g[:-1]
        # F reaches the level at the q-th smallest reference value (q = ceil(level n)).
        q = -(-below[:-1] * n // w)
        cross = self.values[q - 1] - self._centre
        s = np.clip(cross, a, b)
        ps = np.where(s == cross, self._integral(s, q, sums), np.where(s == a, pa, pb))
        inner = level * (2 * s - a - b) + pa + pb - 2 * ps
        top = max(float(t[-1]), float(self.values[-1]) - self._centre)
        tail = (top - t[-1]) - (self._integral(np.array(top), np.array(n), sums) - p[-1])
        wasserstein = float(p[0] + inner.sum() + tail)
        larger, smaller = max(n, w), min(n, w)
        effective_n = int(np.round(larger * smaller / (larger + smaller)))
        return statistic, ks_pvalue(statistic, effective_n), wasserstein


def ks_wasserstein_sorted(reference: np.ndarray, current: np.ndarray) -> tuple[float, float, float]:
    """``SortedReference(reference).compare(current)`` for one-off comparisons (both sorted)."""
    return SortedReference(reference).compare(current)


@lru_cache(maxsize=1 << 16)
def ks_pvalue(statistic: float, effective_n: int) -> float:
    """The asymptotic two-sample p-value (scipy's ``kstwo.sf``), cached.

    Windows keep their sizes, so the statistic takes few distinct values (multiples
    of 1/lcm(n1, n2)) and a tick mostly asks again what it asked before; one
    uncached call costs ~0.1 ms, more than the statistic itself.
    """
    return float(np.clip(sps.kstwo.sf(statistic, effective_n), 0.0, 1.0))


def quantile_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """Inner bin edges at the reference's quantiles (duplicates removed)."""
    edges = np.quantile(reference, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    return np.unique(edges)


def bin_counts(values: np.ndarray, inner_edges: np.ndarray) -> np.ndarray:
    """Counts per bin; bin i holds edges[i-1] < x <= edges[i] (open at both ends)."""
    index = np.searchsorted(inner_edges, values, side="left")
    return np.bincount(index, minlength=len(inner_edges) + 1).astype(float)


def psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Population stability index over shared bins, proportions floored at 1e-4.

    PSI = sum((c - r) * ln(c / r)), i.e. KL(c||r) + KL(r||c) (scipy.special.rel_entr).
    """
    r = np.maximum(reference_counts / reference_counts.sum(), PROPORTION_FLOOR)
    c = np.maximum(current_counts / current_counts.sum(), PROPORTION_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def jensenshannon(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two count vectors.

    Equal to ``scipy.spatial.distance.jensenshannon(p, q, base=2)``.
    """
    p = p_counts / p_counts.sum()
    q = q_counts / q_counts.sum()
    m = (p + q) / 2.0
    divergence = (special.rel_entr(p, m).sum() + special.rel_entr(q, m).sum()) / 2.0
    return float(np.sqrt(max(divergence, 0.0) / np.log(2.0)))


def chisquare_two_sample(reference: np.ndarray, current: np.ndarray,
                         minimum: float = 5.0) -> float:  # fmt: skip
    """p-value of Pearson's chi-square test that two samples of counts over the same
    categories come from one distribution (a 2 x K contingency table).

    A two-sample test, because the reference's proportions are themselves estimated
    from a sample (a goodness-of-fit test taking them as exact finds windows of a
    high-cardinality column significant). Categories expected fewer than ``minimum``
    times in either row are pooled into one cell (Cochran's rule). Equal to
    ``scipy.stats.chi2_contingency(table, correction=False)`` on the pooled table.

    >>> round(chisquare_two_sample(np.array([50.0, 50]), np.array([50.0, 50])), 6)
    1.0
    """
    total = reference.sum() + current.sum()
    columns = reference + current
    smaller = min(reference.sum(), current.sum())
    rare = columns * smaller / total < minimum
    if rare.any():
        keep = ~rare
        reference = np.append(reference[keep], reference[rare].sum())
        current = np.append(current[keep], current[rare].sum())
        columns = reference + current
        if columns[-1] == 0:
            reference, current, columns = reference[:-1], current[:-1], columns[:-1]
    if len(columns) < 2:
        return 1.0
    statistic = 0.0
    for row in (reference, current):
        expected = columns * row.sum() / total
        statistic += float(np.sum((row - expected) ** 2 / expected))
    return float(sps.chi2.sf(statistic, len(columns) - 1))
