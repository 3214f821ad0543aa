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


def ks_wasserstein_sorted(reference: np.ndarray, current: np.ndarray) -> tuple[float, float, float]:
    """KS statistic, its asymptotic p-value and the Wasserstein distance, in one pass.

    Equal to ``scipy.stats.ks_2samp(reference, current, method='asymp')`` and
    ``scipy.stats.wasserstein_distance(reference, current)``. Both read the two
    empirical CDFs at the pooled points. The samples are sorted, so pooling them is a
    merge (a stable sort of two runs), and each CDF is a running count of the points
    that came from its side: no binary searches. With ties, a CDF is read at the
    last point of each run of equal values (Wasserstein's gaps there are 0 anyway).
    """
    n1, n2 = len(reference), len(current)
    both = np.concatenate([reference, current])
    order = np.argsort(both, kind="stable")  # two sorted runs: a merge
    pooled = both[order]
    from_reference = order < n1
    cdf1 = np.cumsum(from_reference) / n1
    cdf2 = np.cumsum(~from_reference) / n2
    gaps = np.abs(cdf1 - cdf2)
    run_ends = np.empty(len(pooled), dtype=bool)
    np.not_equal(pooled[1:], pooled[:-1], out=run_ends[:-1])
    run_ends[-1] = True
    statistic = float(np.max(gaps[run_ends]))
    larger, smaller = max(n1, n2), min(n1, n2)
    effective_n = int(np.round(larger * smaller / (larger + smaller)))
    wasserstein = float(np.dot(gaps[:-1], np.diff(pooled)))
    return statistic, ks_pvalue(statistic, effective_n), wasserstein


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
