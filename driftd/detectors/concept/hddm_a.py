"""HDDM_A (Frías-Blanco et al., 2014), as river's ``drift.binary.HDDMA``."""

from __future__ import annotations

import math

from driftd.detectors.concept.state import StateDetector


class HDDM_A(StateDetector):
    """Drift detection with Hoeffding bounds on moving averages (Frías-Blanco et al., 2014).

    It fires where river's ``drift.binary.HDDMA`` does on the same stream, here an
    error rate going from 10% to 50% at index 1000:

    >>> import random
    >>> rng = random.Random(42)
    >>> errors = [int(rng.random() < 0.1) for _ in range(1000)]
    >>> errors += [int(rng.random() < 0.5) for _ in range(1000)]
    >>> detector = HDDM_A()
    >>> [i for i, x in enumerate(errors) if detector.update(x)]
    [1029]
    """

    _state = ("z", "x_min", "x_max", "fired")

    def __init__(
        self,
        drift_confidence: float = 0.001,
        warning_confidence: float = 0.005,
        two_sided_test: bool = False,
    ):
        self.drift_confidence = drift_confidence
        self.warning_confidence = warning_confidence
        self.two_sided_test = two_sided_test
        self.fired = False
        self._reset()

    def _reset(self) -> None:
        # Each running mean as [count, mean].
        self.z = [0, 0.0]
        self.x_min = [0, 0.0]
        self.x_max = [0, 0.0]

    def _bound(self, n: float) -> float:
        return math.sqrt(1.0 / (2 * n) * math.log(1.0 / self.drift_confidence))

    def _shifted(self, cut: list, confidence: float, increase: bool) -> bool:
        if cut[0] == self.z[0]:
            return False
        m = (self.z[0] - cut[0]) / cut[0] * (1.0 / self.z[0])
        epsilon = math.sqrt(m / 2 * math.log(2.0 / confidence))
        gap = self.z[1] - cut[1] if increase else cut[1] - self.z[1]
        return gap >= epsilon

    def update(self, x: float) -> bool:
        if self.fired:
            self._reset()
        self.z = [self.z[0] + 1, self.z[1] + (x - self.z[1]) / (self.z[0] + 1)]
        if self.x_min[0] == 0:
            self.x_min = list(self.z)
        if self.x_max[0] == 0:
            self.x_max = list(self.z)
        eps_z = self._bound(self.z[0])
        if self.x_min[1] + self._bound(self.x_min[0]) >= self.z[1] + eps_z:
            self.x_min = list(self.z)
        if self.x_max[1] - self._bound(self.x_max[0]) <= self.z[1] - eps_z:
            self.x_max = list(self.z)
        self.fired = self._shifted(self.x_min, self.drift_confidence, increase=True)
        if self.two_sided_test and self._shifted(self.x_max, self.drift_confidence, increase=False):
            self.fired = True
        return self.fired
