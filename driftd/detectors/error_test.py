"""The sequential test behind the default accuracy alert: a CUSUM on the error stream.

Each joined outcome of a classifier is a 0/1 error. The test asks whether the error
rate rose from its baseline ``p0`` by the configured ``performance.max_drop``, with
a :class:`~driftd.detectors.cusum.RateCusum` calibrated to the model's share of the
false-alarm budget, so an alert means evidence, not a window average crossing a line.

The baseline is out-of-sample by construction: the first ``burn_in`` labeled
predictions in production, not the reference's predictions (which are often made on
the rows the model was trained on and then look better than production will ever
be). It is the one-sided 80% upper Clopper-Pearson bound of the burn-in's error rate,
so the uncertainty of a finite burn-in makes the test quieter, not noisier. A
burn-in already far worse than the reference is reported (the reference may be
in-sample, or the model degraded from the start), not silently taken as normal.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from scipy import stats

from driftd.detectors import readings as names
from driftd.detectors.cusum import RateCusum
from driftd.detectors.readings import Readings

log = logging.getLogger("driftd.detectors")

CONFIDENCE = 0.8


def upper_bound(errors: int, n: int, confidence: float = CONFIDENCE) -> float:
    """One-sided upper Clopper-Pearson bound of a binomial rate (1 when n is 0)."""
    if errors >= n:
        return 1.0
    return float(stats.beta.ppf(confidence, errors + 1, n - errors))


class ErrorRateTest:
    def __init__(self, model_id: str, burn_in: int, max_rise: float, hold: int,
                 reference_error: float | None):  # fmt: skip
        self._model_id = model_id
        self.burn_in = burn_in
        self.max_rise = max_rise
        self.hold = hold
        self.reference_error = reference_error
        self.arl0: float | None = None
        self.burn_errors = 0
        self.burn_seen = 0
        self.cusum: RateCusum | None = None

    def calibrate(self, arl0: float) -> None:
        self.arl0 = arl0

    @property
    def baseline(self) -> float | None:
        return None if self.cusum is None else self.cusum.p0

    def update_many(self, errors: np.ndarray) -> None:
        if self.cusum is None:
            take = min(len(errors), self.burn_in - self.burn_seen)
            self.burn_errors += int(errors[:take].sum())
            self.burn_seen += take
            errors = errors[take:]
            if self.burn_seen < self.burn_in:
                return
            self._start(announce=True)
        if len(errors):
            self.cusum.update_many(errors)  # type: ignore[union-attr]

    def _start(self, announce: bool) -> None:
        p0 = upper_bound(self.burn_errors, self.burn_seen)
        p1 = min(p0 + self.max_rise, 0.999)
        if p0 >= p1:  # an error rate near 1: nothing worse to test for
            return
        self.cusum = RateCusum(p0, p1, self.arl0 or 1e6)
        rate = self.burn_errors / self.burn_seen
        far = self.reference_error is not None and rate > self.reference_error + self.max_rise
        if announce and far:
            log.warning(
                "%s: the first %d labeled predictions erred at %.3f, the reference's at "
                "%.3f. Either the reference's predictions are in-sample (made on the "
                "training rows) or the model was worse than its reference from the "
                "start; the accuracy alert tests against %.3f", self._model_id,
                self.burn_seen, rate, self.reference_error, p0,
            )  # fmt: skip

    def readings(self) -> Readings:
        cusum = self.cusum
        if cusum is None:
            return {names.error_test("alarm"): 0.0, names.error_test("progress"): None,
                    names.error_test("baseline"): None,
                    names.error_test("alarms"): 0.0}  # fmt: skip
        held = cusum.since_alarm is not None and cusum.since_alarm < self.hold
        return {
            names.error_test("alarm"): float(held),
            names.error_test("progress"): cusum.progress,
            names.error_test("baseline"): cusum.p0,
            names.error_test("alarms"): float(cusum.alarms),
        }

    @staticmethod
    def reading_names() -> list[str]:
        return [names.error_test(part) for part in ("alarm", "progress", "baseline", "alarms")]

    def snapshot(self) -> dict[str, Any]:
        return {"burn": [self.burn_errors, self.burn_seen],
                "cusum": None if self.cusum is None else self.cusum.snapshot()}  # fmt: skip

    def restore(self, state: dict[str, Any]) -> None:
        self.burn_errors, self.burn_seen = state["burn"]
        self.cusum = None
        if state["cusum"] is not None:
            self._start(announce=False)
            if self.cusum is not None:
                self.cusum.restore(state["cusum"])
