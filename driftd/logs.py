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
