"""Fixtures for the alert delivery tests: stand-in receivers and an alerting stack."""

from __future__ import annotations

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


class SimClock:
    """Simulated wall time for the alerting stack: waits are jumps, not sleeps."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def deliver(alerting, clock: SimClock, horizon: float = 24 * 3600.0) -> list[float]:
    """Run the stack on ``clock`` until nothing is left to send: flush due groups,
    attempt due notifications, jump to the next due time (a retry, or a group's next
    flush while one could still have news). Returns the simulated attempt times."""
    attempts: list[float] = []
    end = clock.now + horizon
    idle_flush_done = False
    while clock.now <= end:
        if alerting.manager.tick():
            idle_flush_done = False
        if alerting.worker.run_once():
            attempts.append(clock.now)
        next_due = alerting.outbox.next_due()
        if next_due is not None:
            clock.now = max(clock.now, next_due)
            continue
        flushes = [g.next_flush for g in alerting.manager.groups.values()]
        if idle_flush_done or not flushes:
            return attempts
        clock.now = max(clock.now, max(flushes))  # every group flushes once more
        idle_flush_done = True
    raise AssertionError(f"still sending after {horizon} simulated seconds")
