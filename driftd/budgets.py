"""False-alarm budgets as people write them: ``1 per 1M events``, ``2 per 500k events``.

A budget is the number of false alerts a model may raise, all its calibrated rules
together, per so many events while nothing changed; its inverse is the expected run
length between false alarms (ARL0) the sequential tests are calibrated to. A leaf
module, like :mod:`driftd.durations`: the config parses it once, the detectors
calibrate against the number.
"""

from __future__ import annotations

import math
import re

from driftd.errors import ConfigError

_BUDGET = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s+per\s+(\d+(?:\.\d+)?)\s*([kKmMbB]?)\s+events?\s*$"
)
_SCALE = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9}
DEFAULT_BUDGET = "1 per 1M events"
LOWEST_ARL0 = 1_000  # events between false alarms: below this, a "budget" is no budget


def events_per_false_alarm(budget: str, path: str = "") -> float:
    """'1 per 1M events' -> 1e6: the ARL0, in events, of the model's rules together.

    >>> events_per_false_alarm("1 per 1M events")
    1000000.0
    >>> events_per_false_alarm("2 per 500k events")
    250000.0
    """
    match = _BUDGET.match(str(budget))
    if not match:
        raise ConfigError(
            path, f"{budget!r} is not a false-alarm budget (e.g. '1 per 1M events')"
        )
    alarms = float(match.group(1))
    events = float(match.group(2)) * _SCALE[match.group(3).lower()]
    if alarms <= 0 or not math.isfinite(events / alarms):
        raise ConfigError(path, f"{budget!r}: the number of false alarms must be positive")
    arl0 = events / alarms
    if arl0 < LOWEST_ARL0:
        raise ConfigError(
            path, f"{budget!r} allows a false alarm every {arl0:g} events; at least "
            f"{LOWEST_ARL0} are needed for a budget to mean anything",
        )  # fmt: skip
    return arl0


def per_decision(arl0: float, decisions: int) -> float:
    """Each of ``decisions`` calibrated tests gets ``decisions × arl0``: false-alarm
    rates add up (a union bound, exact to first order when alarms are rare), so the
    model's rules together keep the budget.

    >>> per_decision(1e6, 40)
    40000000.0
    """
    return arl0 * max(1, decisions)
