"""Concept drift on the error stream: ADWIN, Page-Hinkley, DDM and HDDM_A.

These follow river's detectors (``river.drift``) step for step and are tested to
flag drift at the same indices on the same streams. They are re-implemented
rather than wrapped because river keeps ADWIN's state inside a compiled object
whose only serialisation is opaque bytes; here every detector's state is a few
numbers and lists, so it checkpoints to JSON like everything else.

Each ``update(x)`` takes one value of the error stream (0/1 misclassification, or
absolute error for regression) and returns True when it detects a change.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar


class _StateDetector:
    """Snapshot = the instance's state fields; parameters come from config."""

    _state: ClassVar[tuple[str, ...]] = ()

    def snapshot(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._state}

    def restore(self, state: dict[str, Any]) -> None:
        for name in self._state:
            value = state[name]
            setattr(self, name, [list(row) for row in value] if name == "rows" else value)


class ADWIN(_StateDetector):
    """Adaptive windowing (Bifet and Gavaldà, 2007), the ADWIN2 bucket version.

    The window is kept as rows of buckets; row ``i`` holds up to ``max_buckets``
    summaries (total, variance) of ``2**i`` values each. Every ``clock`` updates
    every cut between buckets is tested and the oldest data dropped while the two
    sides' means differ by more than the Hoeffding-style bound.

    >>> import random
    >>> rng = random.Random(12345)
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    >>> detector = ADWIN()
    >>> [i for i, x in enumerate(stream) if detector.update(x)]
    [1023]
    """

    _state = ("rows", "width", "total", "variance", "tick", "fired")

    def __init__(
        self,
        delta: float = 0.002,
        clock: int = 32,
        max_buckets: int = 5,
        min_window_length: int = 5,
        grace_period: int = 10,
    ):
        self.delta = delta
        self.clock = clock
        self.max_buckets = max_buckets
        self.min_window_length = min_window_length
        self.grace_period = grace_period
        self.fired = False
        self._reset()

    def _reset(self) -> None:
        # Like river, the window starts afresh after each detection.
        self.rows: list[list[list[float]]] = [[]]  # rows[i] = [[total, variance], ...] oldest first
        self.width = 0
        self.total = 0.0
        self.variance = 0.0
        self.tick = 0

    @property
    def estimation(self) -> float:
        return self.total / self.width if self.width else 0.0

    def update(self, x: float) -> bool:
        if self.fired:
            self._reset()
        self._insert(float(x))
        self.fired = self._detect()
        return self.fired

    def _insert(self, x: float) -> None:
        self.rows[0].append([x, 0.0])
        self.width += 1
        if self.width > 1:
            previous_mean = self.total / (self.width - 1)
            self.variance += (self.width - 1) * (x - previous_mean) ** 2 / self.width
        self.total += x
        self._compress()

    def _compress(self) -> None:
        for index, row in enumerate(self.rows):
            if len(row) <= self.max_buckets:
                return
            if index + 1 == len(self.rows):
                self.rows.append([])
            size = 2.0**index
            (total1, var1), (total2, var2) = row[0], row[1]
            mean_gap = total1 / size - total2 / size
            merged_variance = var1 + var2 + size * size * mean_gap * mean_gap / (2 * size)
            self.rows[index + 1].append([total1 + total2, merged_variance])
            del row[:2]

    def _drop_oldest(self) -> float:
        row = self.rows[-1]
        size = 2.0 ** (len(self.rows) - 1)
        total, variance = row.pop(0)
        self.width -= size
        self.total -= total
        window_mean = self.total / self.width
        self.variance -= variance + size * self.width * (total / size - window_mean) ** 2 / (
            size + self.width
        )
        if not row:
            self.rows.pop()
        return size

    def _detect(self) -> bool:
        self.tick += 1
        if self.tick % self.clock or self.width <= self.grace_period:
            return False
        detected = False
        shrinking = True
        while shrinking:
            shrinking = self._cut_once()
            detected = detected or shrinking
        return detected

    def _cut_once(self) -> bool:
        """Scan cuts oldest to newest; on the first significant one drop the oldest bucket."""
        n0, n1 = 0.0, float(self.width)
        u0, u1 = 0.0, self.total
        for index in range(len(self.rows) - 1, -1, -1):
            size = 2.0**index
            row = self.rows[index]
            for position, (bucket_total, _) in enumerate(row):
                n0 += size
                n1 -= size
                u0 += bucket_total
                u1 -= bucket_total
                if index == 0 and position == len(row) - 1:
                    return False  # the newest bucket: no data left on the right side
                if (
                    n1 >= self.min_window_length
                    and n0 >= self.min_window_length
                    and self._significant(n0, n1, u0 / n0 - u1 / n1)
                ):
                    if self.width > 0:
                        self._drop_oldest()
                    return True
        return False

    def _significant(self, n0: float, n1: float, mean_gap: float) -> bool:
        delta_prime = math.log(2 * math.log(self.width) / self.delta)
        m_recip = 1.0 / (n0 - self.min_window_length + 1) + 1.0 / (n1 - self.min_window_length + 1)
        epsilon = (
            math.sqrt(2 * m_recip * (self.variance / self.width) * delta_prime)
            + 2 / 3 * delta_prime * m_recip
        )
        return abs(mean_gap) > epsilon


class PageHinkley(_StateDetector):
    """Page-Hinkley cumulative test (river's defaults and both-sided mode)."""

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


class DDM(_StateDetector):
    """Drift Detection Method (Gama et al., 2004) on a 0/1 error stream."""

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


class HDDM_A(_StateDetector):
    """Drift detection with Hoeffding bounds on moving averages (Frías-Blanco et al., 2014)."""

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


METHODS: dict[str, type[_StateDetector]] = {
    "adwin": ADWIN,
    "page_hinkley": PageHinkley,
    "ddm": DDM,
    "hddm_a": HDDM_A,
}


class ConceptDrift:
    """The model's error stream through one detector, with a held verdict.

    A detection is an instant; an alert needs a state. ``concept.drift`` stays 1
    for ``hold`` labeled events after the latest detection, then returns to 0.
    """

    def __init__(self, method: str, params: dict[str, Any], hold: int):
        self.method = method
        self._detector: Any = METHODS[method](**params)
        self._hold = hold
        self._since_detection: int | None = None
        self._detections = 0
        self._error_sum = 0.0
        self._seen = 0

    def update(self, error: float) -> bool:
        """One error; True when this one made the detector flag a change."""
        self._seen += 1
        if self._since_detection is not None:
            self._since_detection += 1
        if self._detector.update(error):
            self._detections += 1
            self._since_detection = 0
            return True
        return False

    def readings(self) -> dict[str, float | None]:
        held = self._since_detection is not None and self._since_detection < self._hold
        return {
            "concept.drift": float(held),
            "concept.detections": float(self._detections),
        }

    def snapshot(self) -> dict[str, Any]:
        return {
            "detector": self._detector.snapshot(),
            "since_detection": self._since_detection,
            "detections": self._detections,
            "seen": self._seen,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._detector.restore(state["detector"])
        self._since_detection = state["since_detection"]
        self._detections = state["detections"]
        self._seen = state["seen"]
