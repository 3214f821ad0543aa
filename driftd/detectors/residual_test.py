"""A calibrated test for growing residuals, behind the regression alert (``mae-increase``).

A window's MAE crossing a line is a point estimate, and against a reference whose
predictions were made on training rows it crosses from the first day. Like the
accuracy alert, this one needs evidence from a sequential test whose baseline is
production's own start. The first ``burn_in`` labeled predictions give ``limit``, the
90% quantile of |residual|; from then on each residual is a 0/1 event, |residual| >
``limit``, and a :class:`~driftd.detectors.rate_test.RateTest` watches its rate.

The baseline needs no guess: if ``limit`` is the ``k``-th smallest of ``n``
continuous values, the chance that a new one from the same distribution exceeds it is
Beta(n - k + 1, k) distributed (the order statistics of a uniform sample), so the
test is calibrated at that Beta's 95% quantile like every estimated baseline. The
rate worth paging for is the exceedance if residuals grew by the MAE factor the rule
names (``1 + 5 * performance.max_drop``, 1.25 by default), computed for normal
residuals: 0.19 against 0.10 at the default. Ties (discrete residuals) only make the
test quieter.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from driftd.detectors import readings as names
from driftd.detectors.rate_test import RateTest
from driftd.detectors.readings import Readings

EXCEEDED = 0.1  # the share of burn-in residuals above the limit


class ResidualTest:
    def __init__(self, growth: float, hold: int, burn_in: int):
        self.growth = growth
        self.hold = hold
        self.burn_in = burn_in
        self.arl0: float | None = None
        self._burn: list[float] = []
        self.limit: float | None = None
        self.order: tuple[int, int] | None = None  # (k, n): limit is the k-th of n
        self.test = self._unstarted()

    def _unstarted(self) -> RateTest:
        """A test with no baseline yet: it reads as quiet until the burn-in ends."""
        return RateTest(names.residual_test, self._raised, self.hold)

    @property
    def onsets(self) -> int:
        return self.test.onsets

    def calibrate(self, arl0: float) -> None:
        self.arl0 = arl0
        if self.limit is not None:
            self.test.calibrate(arl0)

    def update_many(self, residuals: np.ndarray) -> None:
        size = np.abs(residuals)
        if self.limit is None:
            take = min(len(size), self.burn_in - len(self._burn))
            self._burn.extend(size[:take].tolist())
            size = size[take:]
            if len(self._burn) < self.burn_in:
                return
            n = len(self._burn)
            k = math.ceil((1 - EXCEEDED) * n)
            self._start(sorted(self._burn)[k - 1], (k, n))
            self._burn = []
        if len(size):
            self.test.update_many(size > self.limit)

    def _start(self, limit: float, order: tuple[int, int]) -> None:
        k, n = order
        self.limit, self.order = limit, order
        self.test = RateTest(names.residual_test, self._raised, self.hold,
                             baseline=(n - k + 1.0, float(k)))  # fmt: skip
        if self.arl0 is not None:
            self.test.calibrate(self.arl0)

    def _raised(self, p0: float) -> float:
        """The exceedance once normal residuals are ``growth`` times as large."""
        z = float(special.ndtri(1 - p0 / 2))
        return float(2 * special.ndtr(-z / self.growth))

    def readings(self) -> Readings:
        return {names.residual_test("limit"): self.limit, **self.test.readings()}

    def reading_names(self) -> list[str]:
        return [*self.test.reading_names(), names.residual_test("limit")]

    def snapshot(self) -> dict[str, Any]:
        return {"burn": self._burn, "limit": self.limit, "order": self.order,
                "test": self.test.snapshot() if self.limit is not None else None}  # fmt: skip

    def restore(self, state: dict[str, Any]) -> None:
        self._burn = list(state["burn"])
        self.limit, self.order, self.test = None, None, self._unstarted()
        if state["limit"] is not None:
            self._start(state["limit"], tuple(state["order"]))  # type: ignore[arg-type]
            self.test.restore(state["test"])
