"""The fairness alerts' confidence bounds, against scipy and statsmodels, and the rules
that use them: a bound must clear the line, small cells get no verdict, and a model
already unfair still alerts when it gets worse."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats.contingency import relative_risk
from statsmodels.stats.proportion import confint_proportions_2indep

from driftd.detectors.fairness import FairnessWindow
from driftd.detectors.intervals import (
    difference_lower,
    ratio_lower,
    ratio_upper,
    spread_upper,
    wilson,
)

CASES = [(20, 100, 30, 100), (5, 40, 35, 60), (300, 1000, 420, 900), (1, 30, 12, 31)]


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), CASES)
def test_the_ratio_bound_is_scipys_katz_interval(k1, n1, k2, n2):
    """Oracle: scipy.stats.contingency.relative_risk; the upper end of a two-sided 98%
    interval is the one-sided 99% bound (tolerance 1e-12)."""
    expected = relative_risk(k1, n1, k2, n2).confidence_interval(0.98).high
    assert ratio_upper(k1, n1, k2, n2, 0.99) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), CASES)
def test_the_ratio_lower_bound_is_scipys_katz_interval(k1, n1, k2, n2):
    """Oracle: the lower end of scipy's two-sided 98% Katz interval (tolerance 1e-12)."""
    expected = relative_risk(k1, n1, k2, n2).confidence_interval(0.98).low
    assert ratio_lower(k1, n1, k2, n2, 0.99) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("k", "n"), [(0, 50), (7, 50), (640, 1000), (1000, 1000)])
def test_wilson_bounds_are_statsmodels_wilson_interval(k, n):
    """Oracle: statsmodels' proportion_confint(method='wilson'), alpha 0.02 (1e-12)."""
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(k, n, alpha=0.02, method="wilson")
    assert wilson(k, n, 0.99) == pytest.approx((low, high), abs=1e-12)


def test_the_spread_bound_covers_every_pair():
    """Highest Wilson upper bound minus lowest Wilson lower bound (statsmodels' Wilson
    ends as the oracle); at least every pair's Newcombe upper bound."""
    from statsmodels.stats.proportion import proportion_confint

    cells = [(30, 100), (45, 90), (10, 80)]
    ends = [proportion_confint(k, n, alpha=0.02, method="wilson") for k, n in cells]
    expected = max(high for _, high in ends) - min(low for low, _ in ends)
    assert spread_upper(cells, 0.99) == pytest.approx(expected, abs=1e-12)
    for k1, n1 in cells:
        for k2, n2 in cells:
            _, high = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", alpha=0.02)
            assert spread_upper(cells, 0.99) >= high - 1e-12


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), CASES)
def test_the_gap_bound_is_statsmodels_newcombe_interval(k1, n1, k2, n2):
    """Oracle: statsmodels' confint_proportions_2indep(method='newcomb'), alpha 0.02."""
    low, _ = confint_proportions_2indep(k2, n2, k1, n1, method="newcomb", alpha=0.02)
    assert difference_lower(k2, n2, k1, n1, 0.99) == pytest.approx(low, abs=1e-12)


def _window(rows: list[tuple[str, int, int]]) -> FairnessWindow:
    window = FairnessWindow("sex", 10_000, min_group_size=30, mode="selection")
    groups = [g for g, _, _ in rows]
    y = np.array([label for _, label, _ in rows], dtype=float)
    y_hat = np.array([decision for _, _, decision in rows], dtype=float)
    window.update_many(groups, y, y_hat)
    return window


def test_a_point_estimate_past_the_line_is_not_enough_on_small_groups():
    rng = np.random.default_rng(0)
    # 40 women, 400 men, equal selection in truth (40%); women's estimate 0.25 by chance.
    rows = [("f", 1, int(i < 10)) for i in range(40)]
    rows += [("m", int(rng.random() < 0.5), int(rng.random() < 0.4)) for _ in range(400)]
    window = _window(rows)
    point = window.readings()["fairness.sex.demographic_parity_ratio"]
    bound = window.bounds(min_cell=30)["fairness.sex.demographic_parity_ratio_upper"]
    assert point < 0.8 < bound


def test_equalized_odds_leaves_out_groups_with_few_positives_or_negatives():
    rows = [("f", 1, 1)] * 10 + [("f", 0, 0)] * 200  # 10 positive labels: TPR not judged
    rows += [("m", 1, 0)] * 100 + [("m", 0, 0)] * 100
    window = _window(rows)
    assert window.readings()["fairness.sex.equalized_odds_difference"] == 1.0  # fairlearn's
    assert window.bounds(min_cell=30)["fairness.sex.equalized_odds_difference_lower"] == (
        pytest.approx(difference_lower(0, 100, 0, 200))  # FPR only: both 0
    )
    rows += [("f", 1, 1)] * 30
    bound = _window(rows).bounds(min_cell=30)["fairness.sex.equalized_odds_difference_lower"]
    assert bound > 0.8  # TPR 1.0 vs 0.0 on 40 and 100 positives
