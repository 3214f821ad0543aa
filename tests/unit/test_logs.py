"""JSON log lines: one object each, with event and model ids, secrets redacted."""

from __future__ import annotations

import io
import json
import logging

from driftd import credentials
from driftd.logs import JsonFormatter, setup_logging


def test_json_lines_carry_ids_and_never_secrets():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        _check_json_lines()
    finally:  # give pytest its handlers back
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


def _check_json_lines():
    setup_logging("INFO", "json")
    stream = io.StringIO()
    root = logging.getLogger()
    handler = root.handlers[0]
    handler.setStream(stream)  # type: ignore[attr-defined]
    assert isinstance(handler.formatter, JsonFormatter)
    credentials.register("tok-very-secret-99")
    log = logging.getLogger("driftd.test")
    ids = {"model": "m1", "event_id": "e7"}
    log.info("sent to %s", "https://hooks/tok-very-secret-99", extra=ids)
    try:
        raise RuntimeError("boom tok-very-secret-99")
    except RuntimeError:
        log.exception("failed")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["msg"] == "sent to https://hooks/***"
    assert lines[0]["model"] == "m1" and lines[0]["event_id"] == "e7"
    assert lines[0]["level"] == "info" and lines[0]["logger"] == "driftd.test"
    assert "tok-very-secret-99" not in stream.getvalue()
    assert "boom ***" in stream.getvalue()


def test_a_flood_of_alike_lines_is_held_back_and_counted():
    """Issue 15: a broker outage logged ~20 lines a second. Five alike per minute, then
    the first line of the next minute says how many were held back."""
    import logging

    from driftd.logs import RateLimit

    class Clock:
        now = 0.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    logger = logging.getLogger("driftd.test.flood")
    logger.propagate = False
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logger.addHandler(Keep())
    logger.addFilter(RateLimit(burst=5, period=60.0, clock=clock))
    for i in range(200):  # ten seconds of an outage
        clock.now = i * 0.05
        logger.error("FAIL [driftd#consumer-1]: 127.0.0.1:9092/1: Connect to ipv4 refused")
    logger.error("a different line")
    assert len(seen) == 6 and seen[-1] == "a different line"
    clock.now = 61.0
    logger.error("FAIL [driftd#consumer-1]: 127.0.0.1:9092/1: Connect to ipv4 refused")
    assert seen[-1].endswith("(and 195 more like it in the last 60 s)")
