"""The regression alert's evidence: a calibrated test on the share of large residuals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from driftd.detectors.residual_test import ResidualTest


def test_the_baseline_is_the_order_statistics_beta():
    """The chance that a new residual exceeds the 90% quantile of n burn-in residuals is
    Beta(n - k + 1, k) distributed. Oracle: scipy's Beta against 4,000 simulated
    burn-ins of normal residuals, exact exceedance 2*sf(limit) (KS, p > 0.001)."""
    rng = np.random.default_rng(3)
    n, exceedances = 200, []
    for _ in range(4000):
        test = ResidualTest(1.25, hold=100, burn_in=n)
        test.update_many(rng.normal(0, 1, n))
        exceedances.append(2 * stats.norm.sf(test.limit))
    k, size = test.order
    assert size == n and k == 180
    assert stats.kstest(exceedances, stats.beta(n - k + 1, k).cdf).pvalue > 1e-3


def test_the_rate_worth_paging_for_is_normal_residuals_grown_by_the_factor():
    """Oracle: scipy.stats.norm; at p0 = 0.1 and 1.25x residuals, 0.188 (1e-12)."""
    test = ResidualTest(1.25, hold=100, burn_in=10)
    z = stats.norm.isf(0.05)
    assert test._raised(0.1) == pytest.approx(2 * stats.norm.sf(z / 1.25), abs=1e-12)
    assert test._raised(0.1) == pytest.approx(0.188, abs=5e-4)


def _run(rng, scale_after: float, n: int = 60_000, change: int = 20_000) -> list[int]:
    test = ResidualTest(1.25, hold=1000, burn_in=1000)
    test.calibrate(1e6)
    alarms = []
    for start in range(0, n, 128):
        size = min(128, n - start)
        scale = np.where(np.arange(start, start + size) >= change, scale_after, 1.0)
        before = test.onsets
        test.update_many(rng.laplace(0, 1, size) * scale)
        if test.onsets > before:
            alarms.append(start)
    return alarms


def test_quiet_on_stable_residuals_and_fast_on_grown_ones():
    """Laplace residuals (not the normal the alternative assumes): no alarm in 60k
    stable ones at ARL0 1e6; residuals 1.5x as large are caught within a few hundred."""
    rng = np.random.default_rng(5)
    assert _run(rng, 1.0) == []
    alarms = _run(rng, 1.5)
    assert alarms and 20_000 - 128 <= alarms[0] < 21_000, alarms


def test_snapshot_and_restore_continue_exactly():
    rng = np.random.default_rng(8)
    first = ResidualTest(1.25, hold=100, burn_in=500)
    first.calibrate(1e5)
    data = rng.normal(0, 1, 3000) * np.r_[np.ones(1500), np.full(1500, 2.0)]
    first.update_many(data[:1200])
    second = ResidualTest(1.25, hold=100, burn_in=500)
    second.calibrate(1e5)
    second.restore(first.snapshot())
    first.update_many(data[1200:])
    second.update_many(data[1200:])
    assert first.readings() == second.readings() and first.onsets == second.onsets >= 1
    early = ResidualTest(1.25, hold=100, burn_in=500)  # mid burn-in
    early.calibrate(1e5)
    later = ResidualTest(1.25, hold=100, burn_in=500)
    later.calibrate(1e5)
    early.update_many(data[:300])
    later.restore(early.snapshot())
    early.update_many(data[300:])
    later.update_many(data[300:])
    assert early.readings() == later.readings()
