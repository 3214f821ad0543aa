"""Confidence bounds for the fairness alerts: a gap or a ratio must clear the line.

A fairness metric of a window is a point estimate over a few hundred rows per group,
and on small groups it crosses 0.8 or 0.2 by chance (a race equalized-odds alert
fired five times on unchanged data). The default fairness rules therefore compare a
one-sided confidence bound with the threshold: the selection-rate ratio's *upper*
bound must be below 0.8, the rate gap's *lower* bound above 0.2.

- A ratio of two binomial rates: Katz's log interval,
  ``log(p1/p2) ± z·sqrt(1/k1 - 1/n1 + 1/k2 - 1/n2)`` (scipy's ``relative_risk``).
- A difference of two binomial rates: Newcombe's hybrid score interval (method 10),
  built from the two Wilson intervals (statsmodels' ``method="newcomb"``).

Both are tested equal to those libraries. Their other ends (the ratio's lower bound,
an upper bound of the largest rate gap, Wilson bounds of accuracy) are what an
escalation is judged from: a firing alert is told again only when its bad-side bound
is a step worse than its good-side bound was at the last notice.

The bounds are per tick and per pair, not calibrated sequential tests: the
confidence (``CONFIDENCE``, one-sided) is set high so that repeated looks at
overlapping windows stay rare false alarms, and the alert-quality benchmark
measures the result.
"""

from __future__ import annotations

import math

from scipy import special

CONFIDENCE = 0.99  # one-sided


def _z(confidence: float) -> float:
    return float(special.ndtri(confidence))


def _katz(k1: int, n1: int, k2: int, n2: int, confidence: float, side: int) -> float:
    a, b = max(k1, 0.5), max(k2, 0.5)  # a zero count is taken as 0.5 (Haldane)
    log_ratio = math.log((a / n1) / (b / n2))
    spread = math.sqrt(1 / a - 1 / n1 + 1 / b - 1 / n2)
    return math.exp(log_ratio + side * _z(confidence) * spread)


def ratio_upper(k1: int, n1: int, k2: int, n2: int, confidence: float = CONFIDENCE) -> float:
    """Upper bound of ``(k1/n1) / (k2/n2)`` (Katz)."""
    return _katz(k1, n1, k2, n2, confidence, +1)


def ratio_lower(k1: int, n1: int, k2: int, n2: int, confidence: float = CONFIDENCE) -> float:
    """Lower bound of ``(k1/n1) / (k2/n2)`` (Katz): how good the ratio at least is, which
    an escalation must be worse than (see :mod:`driftd.alerts.rules`)."""
    return _katz(k1, n1, k2, n2, confidence, -1)


def _wilson(k: int, n: int, z: float) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def wilson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """One-sided ``confidence`` bounds (lower, upper) of a binomial rate (Wilson score)."""
    return _wilson(k, n, _z(confidence))


def difference_lower(k1: int, n1: int, k2: int, n2: int,
                     confidence: float = CONFIDENCE) -> float:  # fmt: skip
    """Lower bound of ``k1/n1 - k2/n2`` (Newcombe's hybrid score interval)."""
    z = _z(confidence)
    p1, p2 = k1 / n1, k2 / n2
    low1, _ = _wilson(k1, n1, z)
    _, high2 = _wilson(k2, n2, z)
    return p1 - p2 - math.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)


def spread_upper(cells: list[tuple[int, int]], confidence: float = CONFIDENCE) -> float:
    """Upper bound of the largest gap between the rates ``k/n`` of ``cells``: the highest
    Wilson upper bound minus the lowest Wilson lower bound (each one-sided at
    ``confidence``; conservative, as it holds for whichever pair is furthest apart)."""
    z = _z(confidence)
    bounds = [_wilson(k, n, z) for k, n in cells]
    return max(high for _, high in bounds) - min(low for low, _ in bounds)
