"""Durations as people write them in a config or on a command line: ``30s``, ``5m``, ``7d``.

A leaf module: the config, the CLI and the HTTP API all parse durations the same way,
and a bad one is a :class:`~driftd.errors.ConfigError` naming where it was written.
"""

from __future__ import annotations

import math
import re

from driftd.errors import ConfigError

Duration = float | int | str
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def parse_duration(value: Duration, path: str = "") -> float:
    """'30s', '5m', '1h', '7d', or a number of seconds -> seconds.

    >>> parse_duration("90m")
    5400.0
    >>> parse_duration(2.5)
    2.5
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ConfigError(path, f"{value!r} is not a duration (e.g. 30s, 5m, 1h, 7d)")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 0:
        raise ConfigError(path, "a duration cannot be negative")
    if not math.isfinite(seconds):
        raise ConfigError(path, f"{value!r} is not a finite duration")
    return seconds
