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
        if below_sorted is None:
            below_sorted = np.searchsorted(self.values, current, side="left")
        statistics, pvalues, wasserstein = compare_rows([self], current[None, :],
                                                        below_sorted[None, :])  # fmt: skip
        return float(statistics[0]), pvalues[0], float(wasserstein[0])


def compare_rows(
    references: list[SortedReference], current: np.ndarray, below_sorted: np.ndarray,
    widths: np.ndarray | None = None,
) -> tuple[np.ndarray, list[float], np.ndarray]:  # fmt: skip
    """:meth:`SortedReference.compare` of many windows at once: the first ``widths[i]``
    values of row i of ``current`` (sorted, finite; by default the whole row) against
    ``references[i]``, ``below_sorted`` their kept ranks; what lies past a row's width
    is ignored. The same KS statistics (the same integers) and p-values; Wasserstein
    sums to the last bits where a row is full and has no tied values (masked terms add
    exact zeros, which may group a sum's rounding differently: ~1e-16 of it).

    Every position stands for itself rather than only the last of each run of equal
    values: the terms of positions inside a run (KS gaps, Wasserstein intervals of
    length 0) or past the width are masked to 0, so only the run ends count. The
    per-reference parts (ties, prefix sums, order statistics) are gathers, one
    reference at a time; the rest is one numpy call per step for every row."""
    rows, size = current.shape
    full = np.full(rows, size) if widths is None else np.asarray(widths)
    w = full[:, None]
    n = np.array([r.n for r in references])[:, None]
    below = np.arange(1, size + 1)[None, :]  # window values <= each (G = below / w)
    # The usual windows (every row full, no tied values) skip the masks.
    short = bool((full < size).any())
    last = np.empty((rows, size), dtype=bool)  # the last of each run of equal values
    if short:
        valid = below <= w
        # Past its width a row repeats its last value (finite arithmetic, masked below).
        current = np.where(valid, current, np.take_along_axis(current, w - 1, axis=1))
        last[:, :-1] = (current[:, 1:] != current[:, :-1]) & valid[:, 1:]
        last[:, -1] = False
        last[np.arange(rows), full - 1] = True
        last &= valid
        left = np.where(valid, below_sorted, 0).astype(np.int64)
        step = last[:, :-1] & valid[:, 1:]  # a run end with a next distinct value
    else:
        np.not_equal(current[:, 1:], current[:, :-1], out=last[:, :-1])
        last[:, -1] = True
        left = below_sorted.astype(np.int64)
        step = last[:, :-1]
    masked = short or not step.all()
    q = -(-below[:, :-1] * n // w)  # F reaches G's level at its q-th value
    if short:
        np.clip(q, 1, n, out=q)
    centre = np.array([r._centre for r in references])[:, None]
    right = np.empty_like(left)
    sums_right = np.empty(current.shape)
    sums_q = np.empty((rows, size - 1))
    cross = np.empty((rows, size - 1))
    ends = np.empty(rows)  # the reference's last value, centred
    totals = np.empty(rows)  # the sum of its centred values
    for i, reference in enumerate(references):
        right[i] = left[i] + reference._ties(current[i], left[i])
        sums = np.zeros(reference.n + 1)
        np.cumsum(reference.values - reference._centre, out=sums[1:])
        sums_right[i] = sums[right[i]]
        sums_q[i] = sums[q[i]]
        cross[i] = reference.values[q[i] - 1] - reference._centre
        ends[i] = float(reference.values[-1]) - reference._centre
        totals[i] = sums[-1]
    at = right * w - below * n  # (F - G) n w at each value, just before the next one:
    before = left[:, 1:] * w - below[:, :-1] * n
    if masked:
        at[~last] = 0
        before[~step] = 0
    gap = np.maximum(np.abs(at).max(axis=1), np.abs(before).max(axis=1, initial=0))
    statistics = np.maximum(gap, left[:, 0] * full) / (n[:, 0] * full)
    t = current - centre
    p = (right * t - sums_right) / n
    a, b, pa, pb = t[:, :-1], t[:, 1:], p[:, :-1], p[:, 1:]
    s = np.clip(cross, a, b)
    ps = np.where(s == cross, (q * s - sums_q) / n, np.where(s == a, pa, pb))
    inner = (below[:, :-1] / w) * (2 * s - a - b) + pa + pb - 2 * ps
    if masked:
        inner[~step] = 0.0
    if short:
        t_end = np.take_along_axis(t, w - 1, axis=1)[:, 0]
        p_end = np.take_along_axis(p, w - 1, axis=1)[:, 0]
    else:
        t_end, p_end = t[:, -1], p[:, -1]
    top = np.maximum(t_end, ends)
    tail = (top - t_end) - ((n[:, 0] * top - totals) / n[:, 0] - p_end)
    wasserstein = p[:, 0] + inner.sum(axis=1) + tail
    larger, smaller = np.maximum(n[:, 0], full), np.minimum(n[:, 0], full)
    effective = np.round(larger * smaller / (larger + smaller)).astype(int)
    pvalues = [ks_pvalue(float(k), int(e)) for k, e in zip(statistics, effective, strict=True)]
    return statistics, pvalues, wasserstein


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
    return float(psi_rows(reference_counts[None, :], current_counts[None, :])[0])


def psi_rows(reference_counts: np.ndarray, current_counts: np.ndarray) -> np.ndarray:
    """:func:`psi` of each row (bins along the rows: each row's sums are its own)."""
    r = np.maximum(reference_counts / reference_counts.sum(axis=1, keepdims=True),
                   PROPORTION_FLOOR)  # fmt: skip
    c = np.maximum(current_counts / current_counts.sum(axis=1, keepdims=True), PROPORTION_FLOOR)
    return np.sum((c - r) * np.log(c / r), axis=1)


def jensenshannon(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two count vectors.

    Equal to ``scipy.spatial.distance.jensenshannon(p, q, base=2)``.
    """
    return float(jensenshannon_rows(p_counts[None, :], q_counts[None, :])[0])


def jensenshannon_rows(p_counts: np.ndarray, q_counts: np.ndarray) -> np.ndarray:
    """:func:`jensenshannon` of each row."""
    p = p_counts / p_counts.sum(axis=1, keepdims=True)
    q = q_counts / q_counts.sum(axis=1, keepdims=True)
    m = (p + q) / 2.0
    divergence = (special.rel_entr(p, m).sum(axis=1) + special.rel_entr(q, m).sum(axis=1)) / 2.0
    return np.sqrt(np.maximum(divergence, 0.0) / np.log(2.0))


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
    # chi2.sf itself (scipy's chi2 computes it so), without its ~0.2 ms of argument checks
    return float(special.chdtrc(len(columns) - 1, statistic))
