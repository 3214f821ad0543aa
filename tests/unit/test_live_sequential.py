"""The live trial's confidence sequences: the boundary against a numerical integral of the
mixture martingale (scipy), and the error rates it promises, by Monte Carlo, at every
look (the worker looks again and again)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from driftd.retrain import sequential

ALPHA = 0.05
LOOK_EVERY = 25  # events between looks in the simulations (the worker: every 30 s)


@pytest.mark.parametrize(("n", "sigma", "alpha", "tight_at"),
                         [(10, 0.5, 0.05, 500), (500, 0.5, 0.025, 500), (20_000, 1.0, 0.05, 200),
                          (3, 1.0, 0.01, 1000)])  # fmt: skip
def test_the_boundary_is_where_the_normal_mixture_reaches_one_over_alpha(n, sigma, alpha, tight_at):
    """The mixture over lambda ~ N(0, 1/rho) of exp(lambda s - lambda^2 v / 2), integrated
    numerically, equals 1/alpha exactly at the closed-form boundary (rel. 1e-6)."""
    rho = sigma * sigma * tight_at
    v = sigma * sigma * n
    s = sequential.boundary(n, sigma, alpha, rho)

    def mixture(s_value: float) -> float:
        scale = 1 / math.sqrt(rho)
        value, _ = integrate.quad(
            lambda lam: math.exp(lam * s_value - lam * lam * v / 2) * stats.norm.pdf(lam, 0, scale),
            -50 * scale, 50 * scale, limit=400, epsabs=0, epsrel=1e-10,
        )  # fmt: skip
        return value

    assert mixture(s) == pytest.approx(1 / alpha, rel=1e-6)
    assert mixture(0.99 * s) < 1 / alpha < mixture(1.01 * s)


def first_crossings(low: np.ndarray, high: np.ndarray, bar: float) -> tuple[np.ndarray, np.ndarray]:
    """Per stream: whether it was ever promoted (low > bar) or rejected (high < bar) at a
    look, whichever came first."""
    promote, reject = low > bar, high < bar
    first_promote = np.where(promote.any(1), promote.argmax(1), 10**9)
    first_reject = np.where(reject.any(1), reject.argmax(1), 10**9)
    return first_promote < first_reject, first_reject < first_promote


def ab_run(p_new: float, p_old: float, streams: int, per_arm: int, seed: int):
    """Cumulative hits of both arms at each look, and the interval there (vectorised)."""
    rng = np.random.default_rng(seed)
    looks = np.arange(LOOK_EVERY, per_arm + 1, LOOK_EVERY)
    hits_new = np.cumsum(rng.random((streams, per_arm)) < p_new, axis=1)[:, looks - 1]
    hits_old = np.cumsum(rng.random((streams, per_arm)) < p_old, axis=1)[:, looks - 1]
    low = np.empty(hits_new.shape)
    high = np.empty(hits_new.shape)
    for j, n in enumerate(looks):
        for i in range(streams):
            new, old = (int(n), int(hits_new[i, j])), (int(n), int(hits_old[i, j]))
            found = sequential.unpaired(new, old, ALPHA, 200)
            low[i, j], high[i, j] = found.low, found.high
    return looks, hits_new, hits_old, low, high


def test_ab_equal_models_are_rarely_promoted_however_often_one_looks():
    """H0: both arms 0.80. Looked at every 25 events up to 2,000 per arm (80 looks), the
    sequence promotes in at most alpha of the streams; a fixed-sample 95% z-test looked
    at the same way "finds" a winner far more often (the reason for the sequence)."""
    streams = 400
    looks, hits_new, hits_old, low, high = ab_run(0.80, 0.80, streams, 2000, seed=1)
    promoted, _ = first_crossings(low, high, 0.0)
    rate = promoted.mean()
    # Binomial margin: 3 standard errors above alpha.
    assert rate <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / streams), rate
    p_new, p_old = hits_new / looks, hits_old / looks
    pooled = (hits_new + hits_old) / (2 * looks)
    z = (p_new - p_old) / np.sqrt(np.maximum(pooled * (1 - pooled) * 2 / looks, 1e-12))
    peeking = (z > stats.norm.ppf(1 - ALPHA / 2)).any(1).mean()
    assert peeking > 2 * max(rate, ALPHA / 2), (peeking, rate)


def test_ab_a_clearly_better_challenger_is_promoted_and_a_worse_one_rejected():
    """0.85 vs 0.75: promoted in at least 1 - alpha of the streams within 2,000 events per
    arm, never rejected; the mirror image is rejected and never promoted."""
    streams = 200
    _, _, _, low, high = ab_run(0.85, 0.75, streams, 2000, seed=2)
    promoted, rejected = first_crossings(low, high, 0.0)
    assert promoted.mean() >= 1 - ALPHA and not rejected.any()
    _, _, _, low, high = ab_run(0.75, 0.85, streams, 2000, seed=3)
    promoted, rejected = first_crossings(low, high, 0.0)
    assert rejected.mean() >= 1 - ALPHA and not promoted.any()


def test_paired_shadow_decides_sooner_than_ab_on_the_same_gap():
    """Shadow pairs: both models score the same events; the challenger fixes 10% of the
    champion's errors and adds 2% new ones (a +0.06 accuracy gap on a 0.75 champion).
    H0 (fixes = new errors) promotes at most alpha of the streams at every look; the gap
    is found in fewer events than A/B needs on the same accuracies."""
    rng = np.random.default_rng(4)
    streams, n = 300, 3000
    looks = np.arange(LOOK_EVERY, n + 1, LOOK_EVERY)

    def run(fix: float, break_: float) -> tuple[np.ndarray, np.ndarray]:
        old = rng.random((streams, n)) < 0.75
        u = rng.random((streams, n))
        new = np.where(old, u >= break_ / 0.75, u < fix / 0.25)
        discordant = np.cumsum(new != old, axis=1)[:, looks - 1]
        wins = np.cumsum(new & ~old, axis=1)[:, looks - 1]
        low = np.empty(discordant.shape)
        high = np.empty(discordant.shape)
        for j, m in enumerate(looks):
            for i in range(streams):
                found = sequential.paired(int(m), int(discordant[i, j]), int(wins[i, j]),
                                          ALPHA, 200)  # fmt: skip
                low[i, j], high[i, j] = found.low, found.high
        return low, high

    low, high = run(0.04, 0.04)
    promoted, _ = first_crossings(low, high, 0.0)
    assert promoted.mean() <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / streams)
    low, high = run(0.08, 0.02)
    promoted, _ = first_crossings(low, high, 0.0)
    assert promoted.mean() >= 1 - ALPHA
    paired_median = np.median(looks[np.argmax(low > 0, axis=1)])
    _, _, _, ab_low, _ = ab_run(0.81, 0.75, 100, 6000, seed=5)
    crossed = (ab_low > 0).any(1)
    ab_median = np.median(np.where(crossed, (np.argmax(ab_low > 0, axis=1) + 1) * LOOK_EVERY,
                                   10**9))  # fmt: skip
    assert paired_median < ab_median / 2, (paired_median, ab_median)


def test_the_interval_covers_the_true_difference_at_every_look():
    """Random accuracies per stream: the truth stays inside the interval at every look in
    at least 1 - alpha of the streams."""
    rng = np.random.default_rng(6)
    streams, per_arm = 200, 1500
    misses = 0
    for _ in range(streams):
        p_new, p_old = rng.uniform(0.5, 0.95, 2)
        new = np.cumsum(rng.random(per_arm) < p_new)
        old = np.cumsum(rng.random(per_arm) < p_old)
        for n in range(LOOK_EVERY, per_arm + 1, LOOK_EVERY):
            found = sequential.unpaired((n, int(new[n - 1])), (n, int(old[n - 1])), ALPHA, 200)
            if not found.low <= p_new - p_old <= found.high:
                misses += 1
                break
    assert misses / streams <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / streams)


def test_no_events_no_claim():
    found = sequential.unpaired((0, 0), (10, 8), ALPHA, 200)
    assert (found.low, found.high) == (-1.0, 1.0) and math.isnan(found.estimate)
    found = sequential.paired(0, 0, 0, ALPHA, 200)
    assert (found.low, found.high) == (-1.0, 1.0)


def test_the_paired_interval_covers_the_true_difference_at_every_look():
    """Random fix and break rates per stream: the true accuracy difference (fix - break)
    stays inside the paired interval at every look in at least 1 - alpha of them."""
    rng = np.random.default_rng(7)
    streams, n = 200, 2000
    misses = 0
    for _ in range(streams):
        fix, break_ = rng.uniform(0, 0.15, 2)
        old = rng.random(n) < 0.75
        u = rng.random(n)
        new = np.where(old, u >= break_ / 0.75, u < fix / 0.25)
        discordant, wins = np.cumsum(new != old), np.cumsum(new & ~old)
        for m in range(LOOK_EVERY, n + 1, LOOK_EVERY):
            found = sequential.paired(m, int(discordant[m - 1]), int(wins[m - 1]), ALPHA, 200)
            if not found.low <= fix - break_ <= found.high:
                misses += 1
                break
    assert misses / streams <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / streams)
