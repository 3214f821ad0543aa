"""ADWIN: adaptive windowing (Bifet and Gavaldà, 2007), as river's ``drift.ADWIN``."""

from __future__ import annotations

import math

from driftd.detectors.concept.state import StateDetector


class ADWIN(StateDetector):
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
