"""False-alarm budgets as people write them: ``1 per 1M events``, ``1 per 90d``.

A budget is the number of false alerts a model may raise, all its calibrated rules
together, per so many events (or so much time) while nothing changed; its inverse is
the expected run length between false alarms (ARL0) the sequential tests are
calibrated to. The tests count events, so a budget in time needs the model's traffic
(``traffic: 50k per day``): ``1 per 90d`` at 50k events a day is one per 4.5M events.
A leaf module above :mod:`driftd.durations`: the config parses it once, the detectors
calibrate against the number.
"""

from __future__ import annotations

import math
import re

from driftd.durations import parse_duration
from driftd.errors import ConfigError

_BUDGET = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s+per\s+(\d+(?:\.\d+)?)\s*([kKmMbB]?)\s+events?\s*$"
)
_TIME_BUDGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s+per\s+(\S+)\s*$")
_TRAFFIC = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*([kKmMbB]?)\s+(?:events?\s+)?per\s+(\S+)\s*$"
)
_WORDS = {"second": "1s", "minute": "1m", "hour": "1h", "day": "1d", "week": "1w"}
_SCALE = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9}
DEFAULT_BUDGET = "1 per 1M events"
LOWEST_ARL0 = 1_000  # events between false alarms: below this, a "budget" is no budget


def _budget_seconds(budget: str) -> float | None:
    """The duration of a budget in time ('1 per 90d' -> 7776000), else None."""
    match = _TIME_BUDGET.match(str(budget))
    if match is None or _BUDGET.match(str(budget)):
        return None
    try:
        return parse_duration(_WORDS.get(match.group(2).lower(), match.group(2)))
    except ConfigError:
        return None


def is_in_time(budget: str) -> bool:
    """Whether a budget is written per duration ('1 per 90d'), not per events."""
    return _budget_seconds(budget) is not None


def events_per_second(traffic: str, path: str = "") -> float:
    """A model's declared traffic: '50k per day' (or '50k events per day', '2 per 1s').

    >>> events_per_second("86.4k per day")
    1.0
    """
    match = _TRAFFIC.match(str(traffic))
    if not match:
        raise ConfigError(path, f"{traffic!r} is not a traffic (e.g. '50k per day')")
    count = float(match.group(1)) * _SCALE[match.group(2).lower()]
    seconds = parse_duration(_WORDS.get(match.group(3).lower(), match.group(3)), path)
    if count <= 0 or seconds <= 0:
        raise ConfigError(path, f"{traffic!r}: events and time must both be positive")
    return count / seconds


def events_per_false_alarm(budget: str, path: str = "", rate: float | None = None) -> float:
    """'1 per 1M events' -> 1e6: the ARL0, in events, of the model's rules together.
    A budget in time ('1 per 90d') needs ``rate``, the model's events per second.

    >>> events_per_false_alarm("1 per 1M events")
    1000000.0
    >>> events_per_false_alarm("2 per 500k events")
    250000.0
    >>> events_per_false_alarm("1 per 90d", rate=events_per_second("50k per day"))
    4500000.0
    """
    match = _BUDGET.match(str(budget))
    seconds = _budget_seconds(budget)
    if match:
        alarms = float(match.group(1))
        events = float(match.group(2)) * _SCALE[match.group(3).lower()]
    elif seconds is not None:
        alarms = float(_TIME_BUDGET.match(str(budget)).group(1))  # type: ignore[union-attr]
        if rate is None:
            raise ConfigError(path, f"{budget!r} is a budget in time; the model's `traffic` "
                              "(e.g. '50k per day') turns it into events")  # fmt: skip
        events = seconds * rate
    else:
        raise ConfigError(
            path, f"{budget!r} is not a false-alarm budget (e.g. '1 per 1M events', "
            "'1 per 90d')",
        )  # fmt: skip
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
