"""Sequential decisions with a false-alarm rate known in advance: CUSUMs and their run lengths.

A rule that compares a windowed rate with a line fires on noise when the window is
small and late when it is large. A CUSUM decides event by event instead and has a
property a line lacks: its *in-control average run length* (ARL0, the expected
number of observations between false alarms while nothing changed) can be computed
before it runs, so a threshold can be chosen for a false-alarm budget.

The Bernoulli CUSUM (for a 0/1 stream: an error, a missing value, an unseen
category) tests a rate ``p0`` against a raised rate ``p1``. Page's statistic on the
log-likelihood ratio is, divided by a constant, ``S = max(0, S + x - γ)`` with the
reference value ``γ = log((1-p0)/(1-p1)) / log(p1(1-p0) / (p0(1-p1)))``. As in
Reynolds & Stoumbos (1999) ``γ`` is taken as a fraction ``d/m`` and the statistic kept
in units of ``1/m``: ``S = max(0, S + (m-d)·x - d·(1-x))``, an integer. The statistic
is then a Markov chain on ``0 .. H-1`` (an alarm at ``H``), and its run length solves
a linear system ``(I - Q) L = 1`` (Brook & Evans, 1972) that is banded (``d`` below
the diagonal, ``m - d`` above): exact, and milliseconds to solve. :func:`calibrate_rate`
finds the smallest ``H`` whose ARL0 reaches a target, and the same chain at another
rate gives the expected delay.

What is exact: the run length of this statistic on independent 0/1 values with
rate ``p0``. What is not: ``p0`` itself is estimated (from the reference or a
burn-in), and events are not always independent; see docs/alerts.md.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Any

import numpy as np
from scipy import linalg

BLOCK = 1024  # values per closed-form pass
MAX_MULTIPLE = 2000  # caps the chain's steps (rates below ~1e-4 are treated as 1e-4)
RATE_FLOOR = 1e-4


def scan(steps: np.ndarray, start: float) -> np.ndarray:
    """The CUSUM path ``S_t = max(0, S_{t-1} + steps_t)`` from ``S_0 = start``.

    From ``S_t = max(0, S_{t-1} + x_t)`` follows ``S_t = C_t - min(-S_0, min_{s<=t} C_s)``
    with ``C`` the running sum: a cumsum and a running minimum, no Python loop.

    >>> scan(np.array([1.0, -3.0, 2.0, 2.0]), 0.0).tolist()
    [1.0, 0.0, 2.0, 4.0]
    """
    running = np.cumsum(steps)
    return running - np.minimum(np.minimum.accumulate(running), -start)


def scan_alarms(steps: np.ndarray, start: float, limit: float) -> tuple[list[int], float]:
    """A one-sided CUSUM over a batch: the positions where ``S`` reaches ``limit`` (it
    restarts at 0 after each) and ``S`` at the end. In blocks: after an alarm only the
    rest of its block is scanned again, so a long batch with many alarms stays linear.

    >>> scan_alarms(np.array([1.0, 1.0, 1.0, -1.0, 2.0]), 0.0, 2.0)
    ([1, 4], 0.0)
    """
    alarms: list[int] = []
    done = 0
    while done < len(steps):
        block = steps[done : done + BLOCK]
        path = scan(block, start)
        crossed = np.flatnonzero(path >= limit)
        if len(crossed) == 0:
            start = path[-1]
            done += len(block)
            continue
        alarms.append(done + int(crossed[0]))
        start = 0.0
        done = alarms[-1] + 1
    return alarms, float(start)


def rate_steps(p0: float, p1: float) -> tuple[int, int]:
    """The integer steps ``(up, down)`` of the Bernoulli CUSUM for ``p0 -> p1``: the
    reference value ``γ`` as a fraction ``down / (up + down)`` (``up`` added for a 1,
    ``down`` taken for a 0), kept strictly between ``p0`` and ``p1`` so the statistic
    drifts down while the rate is ``p0`` and up when it is ``p1``.

    >>> rate_steps(0.01, 0.1)  # γ ≈ 1/25: one up-step of 24 per 24 zeros
    (24, 1)
    """
    if not 0 < p0 < p1 < 1:
        raise ValueError(f"need 0 < p0 < p1 < 1, got p0={p0}, p1={p1}")
    gamma = math.log((1 - p0) / (1 - p1)) / math.log(p1 * (1 - p0) / (p0 * (1 - p1)))
    for denominator in (MAX_MULTIPLE // 40, MAX_MULTIPLE // 4, MAX_MULTIPLE):
        fraction = Fraction(gamma).limit_denominator(denominator)
        if fraction.numerator == 0:
            fraction = Fraction(1, denominator)
        if p0 < fraction < p1:
            return fraction.denominator - fraction.numerator, fraction.numerator
    return MAX_MULTIPLE - 1, 1  # p0 below 1/MAX_MULTIPLE: the floor (RATE_FLOOR) keeps it so


def rate_run_length(p: float, up: int, down: int, limit: int) -> float:
    """Expected observations to an alarm of ``S = max(0, S + up·x - down·(1-x)) >= limit``
    from 0, for independent 0/1 values with rate ``p`` (exact: the Markov chain's
    solution).

    >>> round(rate_run_length(0.5, 1, 1, 1), 6)  # an alarm at the first x = 1
    2.0
    """
    size = limit
    if p <= 0:
        return math.inf
    if size <= 0:
        return 1.0
    # (I - Q) L = 1 in banded storage for scipy.linalg.solve_banded: row
    # up + i - j holds A[i, j]; a zero moves down (to max(0, s - down)), a one up.
    bands = np.zeros((up + down + 1, size))
    bands[up] = 1.0  # the diagonal
    states = np.arange(size)
    below = np.maximum(states - down, 0)
    np.add.at(bands, (up + states - below, below), -(1 - p))
    above = states[states + up < size]
    bands[0, above + up] = -p  # row up + s - (s + up) = 0
    length = float(linalg.solve_banded((down, up), bands, np.ones(size))[0])
    # Past ~1e15 the system is too ill-conditioned for float64 (it can even come out
    # negative); such a run length is as good as never for any budget.
    return length if math.isfinite(length) and 0 < length < 1e15 else math.inf


@functools.lru_cache(maxsize=1024)
def calibrate_rate(p0: float, up: int, down: int, arl0: float) -> int:
    """The smallest limit whose in-control run length at rate ``p0`` is at least ``arl0``
    (cached: a model's features mostly share a baseline, and every process building a
    model's detectors twice, for its rules and for its monitor, pays once)."""
    low, high = 1, 1
    while rate_run_length(p0, up, down, high) < arl0:
        low, high = high, high * 2
        if high > 10_000_000:
            raise ValueError(f"no limit reaches an ARL0 of {arl0:g} at rate {p0:g}")
    while low < high:  # the run length grows with the limit
        middle = (low + high) // 2
        if rate_run_length(p0, up, down, middle) >= arl0:
            high = middle
        else:
            low = middle + 1
    return high


class AlarmCount:
    """Alarms a CUSUM raised so far, and values seen since the last (None before one)."""

    alarms: int = 0
    since_alarm: int | None = None
    # Batches whose first alarm came at least ``hold`` values after the previous one:
    # a new held alarm, which asks for an evaluation at once (re-alarms within a held
    # alarm tell nothing new and wait for the tick).
    onsets: int = 0

    def _note_alarms(self, alarms: list[int], seen: int, hold: int = 0) -> None:
        """``alarms``: positions in a batch of ``seen`` values."""
        if alarms:
            quiet = self.since_alarm
            if quiet is None or quiet + alarms[0] >= hold:
                self.onsets += 1
            self.alarms += len(alarms)
            self.since_alarm = seen - alarms[-1] - 1
        else:
            self.note_quiet(seen)

    def note_quiet(self, seen: int) -> None:
        """``seen`` values passed without an alarm."""
        if self.since_alarm is not None:
            self.since_alarm += seen


class RateCusum(AlarmCount):
    """A Bernoulli CUSUM for a rise of a 0/1 stream's rate, calibrated to an ARL0.

    ``update_many`` takes a batch in arrival order and returns the positions that
    raised an alarm (the statistic restarts at 0 after each), so the decision is as
    of the exact event, whatever the batch size.
    """

    def __init__(self, p0: float, p1: float, arl0: float):
        self.p0 = max(p0, RATE_FLOOR)
        self.p1 = p1
        self.arl0 = arl0
        self.up, self.down = rate_steps(self.p0, p1)
        self.limit = calibrate_rate(self.p0, self.up, self.down, arl0)
        self.score = 0
        self.seen = 0

    def expected_delay(self, p: float) -> float:
        """Expected observations to an alarm from a fresh start if the rate is ``p``."""
        return rate_run_length(p, self.up, self.down, self.limit)

    def update_many(self, indicators: np.ndarray) -> list[int]:
        if not indicators.any():  # the usual batch of a quiet rate: only steps down
            self.score = max(0, self.score - self.down * len(indicators))
            self.seen += len(indicators)
            self._note_alarms([], len(indicators))
            return []
        steps = np.where(indicators, self.up, -self.down).astype(np.int64)
        alarms, end = scan_alarms(steps, self.score, self.limit)
        self.score = int(end)
        self.seen += len(steps)
        self._note_alarms(alarms, len(steps))
        return alarms

    @property
    def progress(self) -> float:
        """The statistic as a share of the limit: 1 is an alarm."""
        return self.score / self.limit

    def snapshot(self) -> dict[str, Any]:
        return {"score": self.score, "alarms": self.alarms, "since_alarm": self.since_alarm,
                "seen": self.seen}  # fmt: skip

    def restore(self, state: dict[str, Any]) -> None:
        self.score, self.alarms = int(state["score"]), int(state["alarms"])
        self.since_alarm, self.seen = state["since_alarm"], int(state["seen"])
