"""A calibrated test for a rise in a 0/1 rate, with its baseline and an alarm that holds.

Behind the default accuracy alert (the error of each joined outcome) and the
data-quality alerts (a missing, wrong-type or out-of-range value of a feature): a
:class:`~driftd.detectors.cusum.RateCusum` calibrated to the test's share of the
model's false-alarm budget, decided per batch at the exact event, so an alert means
evidence, not a window average crossing a line.

The baseline is either known at start (from the reference: a feature's missing
rate there, or the chance that a new value falls outside the range of ``n``
reference values) or learnt from a *burn-in*: the first ``burn_in`` values in
production. The burn-in is what the accuracy alert uses, because the reference's
predictions are often in-sample (made on the rows the model was trained on) and look
better than production ever will. Either way the baseline is an estimate, kept as the
Beta distribution it is known as (``k`` events in ``n``: Beta(k + 1, n - k + 1)), and
the test takes ``p0`` at its 95% quantile: calibrated there, a deployment keeps its
false-alarm budget with probability 95% whatever its burn-in (Gandy & Kvaløy's
guaranteed conditional performance). Calibrating to the estimate as if it were exact
makes the deployments with a low estimate page up to thousands of times too often at
an ARL0 of 10^7; the price is that the typical deployment pages less than its budget
(``python -m bench.burn_in`` measures both). The rate worth paging for, ``p1``, is a
function of ``p0`` (``p0 + max_drop`` for errors; the configured rate, at least
``2 p0``, for data quality).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from driftd.detectors.cusum import RateCusum
from driftd.detectors.merging import sequential
from driftd.detectors.readings import Readings

PARTS = ("alarm", "progress", "baseline", "alarms")
GUARANTEE = 0.95  # the share of deployments that keep their budget


def observed(events: int, n: int) -> tuple[float, float]:
    """The Beta a rate is known as after ``events`` in ``n`` (a uniform prior)."""
    return events + 1.0, n - events + 1.0


class RateTest:
    """``name(part)`` names its readings (``alarm``, ``progress``, ``baseline``, ``alarms``);
    ``raised``: ``p0 -> p1``; ``baseline``: the Beta (a, b) the rate is known as at
    start, or None to learn it from ``burn_in`` values; ``on_start(observed rate, p0)``
    runs once a burn-in ends; ``guarantee``: the quantile of the baseline taken as p0."""

    def __init__(self, name: Callable[[str], str], raised: Callable[[float], float],
                 hold: int, baseline: tuple[float, float] | None = None, burn_in: int = 0,
                 on_start: Callable[[float, float], None] | None = None,
                 guarantee: float = GUARANTEE):  # fmt: skip
        self.name = name
        self.guarantee = guarantee
        self.raised = raised
        self.hold = hold
        self.known = baseline
        self.burn_in = burn_in
        self.on_start = on_start
        self.arl0: float | None = None
        self.burn_events = 0
        self.burn_seen = 0
        self.cusum: RateCusum | None = None
        self.onsets = 0

    def calibrate(self, arl0: float) -> None:
        self.arl0 = arl0
        if self.known is not None:
            self._start(self.known)

    @property
    def baseline(self) -> float | None:
        return None if self.cusum is None else self.cusum.p0

    @property
    def alarms(self) -> int:
        return 0 if self.cusum is None else self.cusum.alarms

    def update_many(self, indicators: np.ndarray) -> None:
        if self.cusum is None:
            if self.known is not None or self.arl0 is None:
                return  # not calibrated: a baseline at or above the rate worth paging for
            take = min(len(indicators), self.burn_in - self.burn_seen)
            self.burn_events += int(np.count_nonzero(indicators[:take]))
            self.burn_seen += take
            indicators = indicators[take:]
            if self.burn_seen < self.burn_in:
                return
            p0 = self._start(observed(self.burn_events, self.burn_seen))
            if self.on_start is not None and p0 is not None:
                self.on_start(self.burn_events / self.burn_seen, p0)
        cusum = self.cusum
        if cusum is not None and len(indicators):
            quiet = cusum.since_alarm  # events since the last alarm, before this batch
            raised = cusum.update_many(indicators)
            if raised and (quiet is None or quiet + raised[0] >= self.hold):
                self.onsets += 1  # an alarm that starts a held alarm, not one within it

    def _start(self, baseline: tuple[float, float]) -> float | None:
        p0 = float(stats.beta.ppf(self.guarantee, *baseline))
        p1 = min(self.raised(p0), 0.999)
        if not p0 < p1:  # nothing worse left to test for
            return None
        self.cusum = RateCusum(p0, p1, self.arl0 or 1e6)
        return self.cusum.p0

    def readings(self) -> Readings:
        cusum = self.cusum
        if cusum is None:
            return {self.name("alarm"): 0.0, self.name("progress"): None,
                    self.name("baseline"): None, self.name("alarms"): 0.0}  # fmt: skip
        held = cusum.since_alarm is not None and cusum.since_alarm < self.hold
        return {
            self.name("alarm"): float(held),
            self.name("progress"): cusum.progress,
            self.name("baseline"): cusum.p0,
            self.name("alarms"): float(cusum.alarms),
        }

    def reading_names(self) -> list[str]:
        return [self.name(part) for part in PARTS]

    def snapshot(self) -> dict[str, Any]:
        return {"burn": [self.burn_events, self.burn_seen],
                "cusum": None if self.cusum is None else self.cusum.snapshot()}  # fmt: skip

    def restore(self, state: dict[str, Any]) -> None:
        self.burn_events, self.burn_seen = state["burn"]
        if self.known is None:
            self.cusum = None
            if self.burn_seen >= self.burn_in:
                self._start(observed(self.burn_events, self.burn_seen))
        if self.cusum is not None and state["cusum"] is not None:
            self.cusum.restore(state["cusum"])


# A change in a share worth paging for: 5 points, or a quarter of the rarer side's
# share (a class at 2% rising to 7%; a group selected at 16% falling to 11%; labels at
# 50/50 moving to 62.5/37.5), whichever is more.
SHARE_SHIFT, SHARE_FRACTION = 0.05, 0.25


def raised_share(p0: float) -> float:
    """The share a rise test on a class or a group's decisions is tuned to catch."""
    return p0 + max(SHARE_SHIFT, SHARE_FRACTION * min(p0, 1 - p0))


class RateTests:
    """Several rate tests of one detector, under string keys (their snapshot keys):
    one place for what every detector with tests does with them."""

    def __init__(self) -> None:
        self.tests: dict[str, RateTest] = {}

    def __len__(self) -> int:
        return len(self.tests)

    def add(self, key: str, test: RateTest) -> None:
        self.tests[key] = test

    @property
    def onsets(self) -> int:
        return sum(test.onsets for test in self.tests.values())

    def calibrate(self, arl0: float) -> None:
        for test in self.tests.values():
            test.calibrate(arl0)

    def readings(self) -> Readings:
        out: Readings = {}
        for test in self.tests.values():
            out.update(test.readings())
        return out

    def reading_names(self) -> list[str]:
        return [name for test in self.tests.values() for name in test.reading_names()]

    def snapshot(self) -> dict[str, Any]:
        return {key: test.snapshot() for key, test in self.tests.items()}

    def restore(self, state: dict[str, Any]) -> None:
        for key, test in self.tests.items():
            if key in state:  # a test added since the snapshot starts fresh
                test.restore(state[key])


class WithRateTests:
    """The budget's part of the detector contract for a detector whose calibrated tests
    are all in ``self.tests`` (mixed in before :class:`~driftd.detectors.base.Detector`)."""

    tests: RateTests

    def decisions(self) -> int:
        return len(self.tests)

    def onsets(self) -> int:
        return self.tests.onsets

    def calibrate(self, arl0: float) -> None:
        self.tests.calibrate(arl0)

    def sequential_readings(self, now: float | None) -> Readings:
        """Its tests' readings (not the windows' rates and metrics: the merge's)."""
        return sequential(self.tests.readings())
