"""Anytime-valid confidence intervals for a live comparison of two models.

A live trial (trial.py) looks at its data again and again, every time the worker
checks, and stops as soon as the answer is clear. A fixed-sample interval checked
that way is wrong far more often than its level says (peeking: a z-test at 95%
looked at after every batch "finds" a winner between two equal models most of
the time, given long enough). A *confidence sequence* is an interval valid at every
sample size at once: the chance that it ever, at any look, misses the truth is at
most alpha. Then stopping whenever it is clear is safe.

The one used is Robbins' normal mixture (Howard, Ramdas, McAuliffe & Sekhon,
"Time-uniform, nonparametric, nonasymptotic confidence sequences", 2021): for
increments sub-Gaussian with variance proxy sigma^2 (any variable within [a, b] has
sigma = (b - a) / 2), the mixture over lambda ~ N(0, 1/rho) of the exponential
supermartingales exp(lambda * S_n - lambda^2 * V_n / 2) is a nonnegative
supermartingale, and Ville's inequality bounds the chance that it ever reaches
1/alpha. It reaches it exactly when

    |S_n - n * mu| >= sqrt((V_n + rho) * log((V_n + rho) / (rho * alpha^2))),  V_n = sigma^2 n

which is :func:`boundary` (checked against a numerical integral of the mixture in
tests). ``rho`` sets where the interval is tightest; ``rho = sigma^2 * m`` puts it
near ``m`` samples (the trial's ``min_events``).

- A/B: each arm's accuracy (a Bernoulli mean, sigma = 1/2) gets its own sequence at
  alpha/2; the difference's interval is their difference (a union bound: both hold
  at once with probability >= 1 - alpha).
- Shadow: the same events scored by both models. Only the *discordant* pairs (one
  model right, the other wrong) tell them apart, as in McNemar's test: the accuracy
  difference is r * (2q - 1), r the share of discordant pairs and q the share of
  them the challenger got right. q gets a sequence over the discordant pairs (a
  Bernoulli mean: skipping the concordant ones keeps them i.i.d., so the sequence
  stays valid) and r one over all pairs, each at alpha/2. Pairing removes the
  events' own difficulty from the noise, so it decides sooner than A/B (measured in
  tests/unit/test_live_sequential.py); a bound on the per-event difference itself
  (in [-1, 1]) would ignore that most pairs agree and need several times the events.
"""

from __future__ import annotations

import math

import msgspec


def boundary(n: float, sigma: float, alpha: float, rho: float) -> float:
    """The two-sided normal-mixture boundary on |S_n - n mu| after ``n`` samples."""
    v = sigma * sigma * n
    return math.sqrt((v + rho) * math.log((v + rho) / (rho * alpha * alpha)))


class Interval(msgspec.Struct, frozen=True):
    """A time-uniform interval for (challenger - champion), and what it rests on."""

    low: float
    high: float
    estimate: float
    challenger_events: int
    champion_events: int

    def width(self) -> float:
        return self.high - self.low


def mean_sequence(n: int, total: float, sigma: float, alpha: float,
                  tight_at: int) -> tuple[float, float]:  # fmt: skip
    """The confidence sequence's interval for a mean after ``n`` samples summing to
    ``total`` (``(-inf, inf)`` before the first)."""
    if n <= 0:
        return -math.inf, math.inf
    radius = boundary(n, sigma, alpha, sigma * sigma * max(tight_at, 1)) / n
    mean = total / n
    return mean - radius, mean + radius


def unpaired(challenger: tuple[int, int], champion: tuple[int, int], alpha: float,
             tight_at: int) -> Interval:  # fmt: skip
    """A/B: (events, correct) per arm; the difference of accuracies."""
    (n_a, hits_a), (n_b, hits_b) = challenger, champion
    low_a, high_a = mean_sequence(n_a, hits_a, 0.5, alpha / 2, tight_at)
    low_b, high_b = mean_sequence(n_b, hits_b, 0.5, alpha / 2, tight_at)
    # Accuracies live in [0, 1]: the interval never says more than that.
    low_a, high_a = max(low_a, 0.0), min(high_a, 1.0)
    low_b, high_b = max(low_b, 0.0), min(high_b, 1.0)
    estimate = (hits_a / n_a if n_a else math.nan) - (hits_b / n_b if n_b else math.nan)
    return Interval(low_a - high_b, high_a - low_b, estimate, n_a, n_b)


def paired(n: int, discordant: int, challenger_right: int, alpha: float,
           tight_at: int) -> Interval:  # fmt: skip
    """Shadow: ``n`` events scored by both, ``discordant`` of them with one model right,
    ``challenger_right`` of those the challenger's."""
    r_low, r_high = mean_sequence(n, discordant, 0.5, alpha / 2, tight_at)
    # Discordant pairs are a minority: the sequence on q is tightest near a tenth as many.
    q_low, q_high = mean_sequence(discordant, challenger_right, 0.5, alpha / 2,
                                  max(tight_at // 10, 30))  # fmt: skip
    r_low, r_high = max(r_low, 0.0), min(r_high, 1.0)
    lift_low, lift_high = 2 * max(q_low, 0.0) - 1, 2 * min(q_high, 1.0) - 1  # 2q - 1
    low = lift_low * (r_low if lift_low >= 0 else r_high)
    high = lift_high * (r_high if lift_high >= 0 else r_low)
    estimate = (2 * challenger_right - discordant) / n if n else math.nan
    return Interval(low, high, estimate, n, n)
