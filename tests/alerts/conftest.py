"""Fixtures for the alert delivery tests: stand-in receivers and an alerting stack."""

from __future__ import annotations

import time

import pytest
from services.receivers import SlackStandIn, SmtpServer, WebhookReceiver

from driftd.alerts.model import Alert, dedup_key


@pytest.fixture
def slack():
    server = SlackStandIn()
    yield server
    server.close()


@pytest.fixture
def webhook():
    server = WebhookReceiver()
    yield server
    server.close()


@pytest.fixture
def smtp(tmp_path):
    server = SmtpServer(tmp_path)
    yield server
    server.close()


def make_alert(state: str = "firing", model: str = "credit", metric: str = "accuracy") -> Alert:
    return Alert(
        key=dedup_key(model, "accuracy-drop", metric),
        model=model,
        rule="accuracy-drop",
        metric=metric,
        state=state,  # type: ignore[arg-type]
        severity="critical",
        value=0.71,
        op="<",
        threshold=0.8,
        first_event_time=1_800_000_000.0,
        event_time=1_800_000_600.0,
        description="Accuracy fell more than 5 points below the reference's.",
        window="last 1000 labeled events",
    )


def wait_for(condition, timeout: float = 20.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")
