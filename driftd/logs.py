"""Logging setup: human-readable text, or one JSON object per line for log pipelines.

JSON lines carry ``ts``, ``level``, ``logger``, ``msg`` and any of ``model``,
``event_id``, ``partition``, ``receiver`` passed through ``extra=``; exceptions
come as ``exc``. Every line goes through secret redaction first (driftd.credentials).
"""

from __future__ import annotations

import json
import logging
import sys
import time

from driftd.credentials import install_log_redaction

FIELDS = ("model", "event_id", "partition", "receiver", "run_id")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for field in FIELDS:
            if hasattr(record, field):
                line[field] = getattr(record, field)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class RateLimit(logging.Filter):
    """At most ``burst`` lines alike per ``period`` seconds; the first line let through
    after some were held back says how many (a broker outage logged ~20 error lines a
    second: the news is that it is down and for how long, once a minute).

    Lines are alike when they come from the same logger at the same level and begin
    with the same 60 characters.
    """

    def __init__(self, burst: int = 5, period: float = 60.0, clock=time.monotonic):
        super().__init__()
        self.burst, self.period, self.clock = burst, period, clock
        self._seen: dict[tuple[str, int, str], list[float]] = {}  # [window start, count, held]

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.getMessage()[:60])
        now = self.clock()
        state = self._seen.get(key)
        if state is None or now - state[0] >= self.period:
            held = 0 if state is None else int(state[2])
            state = self._seen[key] = [now, 0.0, 0.0]
            if len(self._seen) > 1000:  # bounded: forget the oldest kinds of line
                del self._seen[next(iter(self._seen))]
            if held:
                record.msg = f"{record.getMessage()} (and {held} more like it in the last " \
                             f"{self.period:.0f} s)"  # fmt: skip
                record.args = ()
        state[1] += 1
        if state[1] <= self.burst:
            return True
        state[2] += 1
        return False


# Loggers that can flood: librdkafka's callbacks and the Kafka clients around them, and
# the pipeline's warnings about the input (a producer with a broken clock).
RATE_LIMITED = ("driftd.kafka", "driftd.pipeline")


def json_mode() -> bool:
    """Whether stderr is JSON lines (``--log-format json``): then what would be printed
    for people there (alerts on the console, CLI messages) is logged instead."""
    return any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)


def setup_logging(level: str = "WARNING", fmt: str = "text") -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s:%(name)s:%(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in RATE_LIMITED:
        logger = logging.getLogger(name)
        logger.filters = [f for f in logger.filters if not isinstance(f, RateLimit)]
        logger.addFilter(RateLimit())
    install_log_redaction()


def apply_config(runtime: object) -> None:
    """Re-apply logging from ``runtime.log_level`` / ``runtime.log_format`` when set."""
    level = getattr(runtime, "log_level", None)
    fmt = getattr(runtime, "log_format", None)
    if level is None and fmt is None:
        return
    root = logging.getLogger()
    current = (
        "json" if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers) else "text"
    )
    setup_logging(level or logging.getLevelName(root.level), fmt or current)
