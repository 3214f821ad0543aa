"""The Page-Hinkley test, as river's ``drift.PageHinkley``."""

from __future__ import annotations

from driftd.detectors.concept.state import StateDetector


class PageHinkley(StateDetector):
    """Page-Hinkley cumulative test (river's defaults and both-sided mode).

    It fires where river's ``drift.PageHinkley`` does on the same stream, here an
    error rate going from 10% to 50% at index 1000:

    >>> import random
    >>> rng = random.Random(42)
    >>> errors = [int(rng.random() < 0.1) for _ in range(1000)]
    >>> errors += [int(rng.random() < 0.5) for _ in range(1000)]
    >>> detector = PageHinkley()
    >>> [i for i, x in enumerate(errors) if detector.update(x)]
    [1129]
    """

    _state = ("n", "mean", "sum_increase", "sum_decrease", "min_increase", "max_decrease", "fired")

    def __init__(
        self,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        mode: str = "both",
    ):
        self.min_instances = min_instances
        self.delta = delta
        self.threshold = threshold
        self.alpha = alpha
        self.mode = mode
        self.fired = False
        self._reset()

    def _reset(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.sum_increase = 0.0
        self.sum_decrease = 0.0
        self.min_increase: float | None = None  # None = +infinity (JSON has no inf)
        self.max_decrease = -1.0

    def update(self, x: float) -> bool:
        if self.fired:
            self._reset()
        self.n += 1
        self.mean += (x - self.mean) / self.n
        deviation = x - self.mean
        self.sum_increase = self.alpha * self.sum_increase + deviation - self.delta
        self.sum_decrease = self.alpha * self.sum_decrease + deviation + self.delta
        if self.min_increase is None or self.sum_increase < self.min_increase:
            self.min_increase = self.sum_increase
        self.max_decrease = max(self.max_decrease, self.sum_decrease)
        self.fired = False
        if self.n >= self.min_instances:
            up = self.sum_increase - self.min_increase > self.threshold
            down = self.max_decrease - self.sum_decrease > self.threshold
            self.fired = {"up": up, "down": down}.get(self.mode, up or down)
        return self.fired
