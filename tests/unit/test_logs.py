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
