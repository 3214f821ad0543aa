"""DDM, the drift detection method (Gama et al., 2004), as river's ``drift.binary.DDM``."""

from __future__ import annotations

import math

from driftd.detectors.concept.state import StateDetector


class DDM(StateDetector):
    """Drift Detection Method (Gama et al., 2004) on a 0/1 error stream.

    It fires where river's ``drift.binary.DDM`` does on the same stream, here an
    error rate going from 10% to 50% at index 1000:

    >>> import random
    >>> rng = random.Random(42)
    >>> errors = [int(rng.random() < 0.1) for _ in range(1000)]
    >>> errors += [int(rng.random() < 0.5) for _ in range(1000)]
    >>> detector = DDM()
    >>> [i for i, x in enumerate(errors) if detector.update(x)]
    [1033]
    """

    _state = ("n", "p", "p_min", "s_min", "ps_min", "fired")

    def __init__(
        self, warm_start: int = 30, warning_threshold: float = 2.0, drift_threshold: float = 3.0
    ):
        self.warm_start = warm_start
        self.warning_threshold = warning_threshold
        self.drift_threshold = drift_threshold
        self.fired = False
        self._reset()

    def _reset(self) -> None:
        self.n = 0
        self.p = 0.0
        self.p_min: float | None = None
        self.s_min: float | None = None
        self.ps_min: float | None = None  # None = +infinity

    def update(self, x: float) -> bool:
        if self.fired:
            self._reset()
        self.n += 1
        self.p += (x - self.p) / self.n
        s = math.sqrt(self.p * (1 - self.p) / self.n)
        self.fired = False
        if self.n > self.warm_start:
            if self.ps_min is None or self.p + s <= self.ps_min:
                self.p_min, self.s_min, self.ps_min = self.p, s, self.p + s
            assert self.p_min is not None and self.s_min is not None
            self.fired = self.p + s > self.p_min + self.drift_threshold * self.s_min
        return self.fired
