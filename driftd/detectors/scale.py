"""A sequential test for a wider spread of a numeric column: a CUSUM on squared normal scores.

The shift test (:mod:`driftd.detectors.shift`) sees a moved mean; a column whose
values spread out (a sensor gone noisy, a unit mixed up for part of the traffic)
keeps its mean and is seen only by the window tests, hundreds of values late. Its
normal scores ``z`` (N(0, 1) while the column keeps the reference's distribution)
grow in magnitude instead, and the optimal CUSUM for a standard deviation growing
from 1 to ``σ`` runs on ``z²``:

    S = max(0, S + z² - r),   r = 2 ln σ / (1 - 1/σ²)

(``σ = 1.5``: r ≈ 1.46). In control ``z²`` is χ²(1), so the run length of a limit
``h`` is that of a CUSUM with χ²(1) - r increments, computed with Brook & Evans'
Markov chain on a grid of ``h`` (an approximation: measured against simulation in
tests/unit/test_sequential.py); :func:`calibrate_scale` finds the ``h`` of an ARL0.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from scipy import special

from driftd.detectors.cusum import AlarmCount, scan_alarms

WIDER = 1.5  # the spread (in standard deviations) the test is tuned to
CELLS = 200


def reference_value(sigma: float = WIDER) -> float:
    return 2 * math.log(sigma) / (1 - 1 / sigma**2)


def scale_run_length(threshold: float, reference: float, cells: int = CELLS) -> float:
    """In-control ARL of ``S = max(0, S + X - r)``, X ~ χ²(1), alarm at ``threshold``
    (Brook & Evans: the statistic on a grid of ``cells`` states)."""
    width = threshold / (cells - 0.5)
    centres = np.arange(cells) * width
    upper = (np.arange(cells) + 0.5) * width  # each state's upper edge
    # Q[i, j]: from centre i into state j (state 0 also takes every S' <= its edge).
    # χ²(1)'s CDF is erf(sqrt(x / 2)): scipy.stats.chi2.cdf to 1e-14, ten times faster.
    x = np.maximum(reference - centres[:, None] + upper[None, :], 0.0)
    cdf = special.erf(np.sqrt(x / 2))
    q = np.diff(np.concatenate([np.zeros((cells, 1)), cdf], axis=1), axis=1)
    lengths = np.linalg.solve(np.eye(cells) - q, np.ones(cells))
    return float(lengths[0])


@functools.lru_cache(maxsize=64)
def calibrate_scale(arl0: float, reference: float | None = None) -> float:
    """The threshold whose in-control run length is ``arl0`` (cached: a model's numeric
    features share one ARL0)."""
    r = reference_value() if reference is None else reference
    low, high = 0.0, 1.0
    while scale_run_length(high, r) < arl0:
        low, high = high, high * 2
    for _ in range(50):
        middle = (low + high) / 2
        low, high = (middle, high) if scale_run_length(middle, r) < arl0 else (low, middle)
    return high


class ScaleCusum(AlarmCount):
    """Fed the normal scores the shift test computes; alarms restart it."""

    def __init__(self, threshold: float, hold: int, reference: float | None = None):
        self.reference = reference_value() if reference is None else reference
        self.threshold = threshold
        self._hold = hold
        self.score = 0.0

    def update_scores(self, z: np.ndarray) -> list[int]:
        steps = z * z - self.reference
        alarms, self.score = scan_alarms(steps, self.score, self.threshold)
        self._note_alarms(alarms, len(steps), self._hold)
        return alarms

    def readings(self) -> dict[str, float | None]:
        held = self.since_alarm is not None and self.since_alarm < self._hold
        return {"scale": float(held), "scale_score": self.score / self.threshold,
                "scale_alarms": float(self.alarms)}  # fmt: skip

    def snapshot(self) -> dict[str, Any]:
        return {"score": self.score, "alarms": self.alarms, "since_alarm": self.since_alarm}

    def restore(self, state: dict[str, Any]) -> None:
        self.score, self.alarms = state["score"], state["alarms"]
        self.since_alarm = state["since_alarm"]
