"""A sequential test for a shift in a numeric column: two CUSUMs on normal scores.

The window tests in :mod:`driftd.detectors.drift` compare distributions once per
evaluation tick and need a good part of their window to change before a distance
passes its threshold. A location shift shows sooner value by value: this detector
turns each value into a normal score against the reference,
``z = Φ⁻¹(F_ref(x))`` (``F_ref`` the reference's mid-rank CDF), which is N(0, 1)
whatever the column's shape as long as the column keeps the reference's
distribution, and runs Page's two-sided CUSUM on it:

    up   = max(0, up   + z - k)        down = max(0, down - z - k)

An alarm when either passes ``h``; both then restart. ``k`` (the allowance, in
standard deviations) is half the smallest shift worth catching quickly; ``h`` sets
the false-alarm rate. By default ``h`` is calibrated to the test's share of the
model's false-alarm budget with Siegmund's approximation of the run length
(:func:`calibrate_shift`; the budget of 1 per 1M events shared by ~30 tests gives
h ≈ 32 for k = 0.25); ``drift.shift_threshold`` sets it by hand instead.

The recursion is computed a batch at a time without a Python loop: from
``S_t = max(0, S_{t-1} + x_t)`` follows ``S_t = C_t - min(-S_0, min_{s<=t} C_s)``
with ``C`` the running sum, so a batch is a cumsum and a running minimum (and one
more pass per alarm, which is rare).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from driftd.detectors.cusum import BLOCK, AlarmCount, scan
from driftd.detectors.stats import SortedReference


def siegmund_run_length(allowance: float, threshold: float) -> float:
    """In-control ARL of one side of Page's CUSUM on N(0, 1) values: Siegmund's
    approximation ``(exp(-2Δb) + 2Δb - 1) / (2Δ²)`` with drift ``Δ = -k`` and the
    corrected boundary ``b = h + 1.166`` (the expected overshoot)."""
    delta, b = -allowance, threshold + 1.166
    return (math.exp(-2 * delta * b) + 2 * delta * b - 1) / (2 * delta * delta)


def calibrate_shift(allowance: float, arl0: float) -> float:
    """The threshold ``h`` whose two sides together (each alarm restarts both) reach an
    in-control run length of ``arl0``: each side needs ``2 × arl0``."""
    target = 2 * arl0
    low, high = 0.0, 1.0
    while siegmund_run_length(allowance, high) < target:
        low, high = high, high * 2
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if siegmund_run_length(allowance, middle) < target else (
            low, middle)  # fmt: skip
    return high


class ShiftCusum(AlarmCount):
    def __init__(self, reference: np.ndarray | SortedReference, allowance: float,
                 threshold: float, hold: int):  # fmt: skip
        if not isinstance(reference, SortedReference):
            reference = SortedReference(reference)
        self._reference = reference  # the window test's, shared: not copied
        self.allowance = allowance
        self.threshold = threshold
        self._hold = hold
        self.up = 0.0
        self.down = 0.0

    def scores(self, values: np.ndarray) -> np.ndarray:
        """Normal scores against the reference (mid-rank, kept off 0 and 1)."""
        return self.scores_of_ranks(*self._reference.ranks(values))

    def scores_of_ranks(self, below: np.ndarray, equal: np.ndarray) -> np.ndarray:
        """The same, from each value's reference values below and equal to it."""
        n = self._reference.n
        u = np.clip((2 * below + equal) / (2.0 * n), 0.5 / n, 1 - 0.5 / n)
        return special.ndtri(u)

    def update_many(self, values: np.ndarray) -> list[int]:
        """Feed finite values in arrival order; returns the positions that raised alarms."""
        return self.update_scores(self.scores(values))

    def update_scores(self, z: np.ndarray) -> list[int]:
        """The same, from the values' normal scores (shared with the scale test)."""
        alarms: list[int] = []
        up0, down0, done = self.up, self.down, 0
        while done < len(z):
            # Blocks: after an alarm only the rest of its block is scanned again, so a
            # long batch with many alarms stays linear.
            block = z[done : done + BLOCK]
            up = scan(block - self.allowance, up0)
            down = scan(-block - self.allowance, down0)
            crossed = np.flatnonzero((up > self.threshold) | (down > self.threshold))
            if len(crossed) == 0:
                up0, down0 = float(up[-1]), float(down[-1])
                done += len(block)
                continue
            alarms.append(done + int(crossed[0]))
            up0 = down0 = 0.0  # both restart after an alarm
            done = alarms[-1] + 1
        self.up, self.down = up0, down0
        self._note_alarms(alarms, len(z), self._hold)
        return alarms

    def readings(self) -> dict[str, float | None]:
        held = self.since_alarm is not None and self.since_alarm < self._hold
        return {
            "shift": float(held),
            "shift_score": max(self.up, self.down) / self.threshold,
            "shift_alarms": float(self.alarms),
        }

    def snapshot(self) -> dict[str, Any]:
        return {"up": self.up, "down": self.down, "alarms": self.alarms,
                "since_alarm": self.since_alarm}  # fmt: skip

    def restore(self, state: dict[str, Any]) -> None:
        self.up, self.down = state["up"], state["down"]
        self.alarms, self.since_alarm = state["alarms"], state["since_alarm"]
