"""Each delivery stage alone: silence, inhibit, dedup (the notification log), retry.

Time is a simulated clock and jitter a seeded generator: retries and waits are
asserted on what the stage scheduled, without sleeping.
"""

from __future__ import annotations

import random

import pytest

from driftd.alerts.model import Alert, Notification, Tracked, dedup_key
from driftd.alerts.outbox import SqliteOutbox
from driftd.alerts.receivers import DeliveryError
from driftd.alerts.silences import Silence
from driftd.alerts.stages.dedup import DedupStage
from driftd.alerts.stages.inhibit import InhibitStage
from driftd.alerts.stages.retry import RetryStage, backoff
from driftd.alerts.stages.silence import SilenceStage
from driftd.config.alerting import (
    AlertingSpec,
    ConsoleReceiver,
    RouteSpec,
    check_alerting,
    default_inhibitions,
)

NOW = 1_000_000.0


def tracked(model="m1", rule="accuracy-drop", metric="accuracy", resolved_at=None) -> Tracked:
    state = "firing" if resolved_at is None else "resolved"
    alert = Alert(key=dedup_key(model, rule, metric), model=model, rule=rule, metric=metric,
                  state=state, severity="warning", value=0.7, op="<", threshold=0.8,
                  first_event_time=0.0, event_time=0.0)  # fmt: skip
    labels = {"model": model, "rule": rule, "metric": metric, "severity": "warning"}
    return Tracked(alert, labels, resolved_at)


# -- silence -----------------------------------------------------------------------------


def test_silence_stage_drops_what_an_active_silence_matches_and_rereads_the_store():
    stored = [Silence(id="s1", matchers={"model": "m1"}, starts_at=NOW - 10, ends_at=NOW + 60)]
    stage = SilenceStage(lambda: list(stored), reread_every=5.0)
    a, b = tracked("m1"), tracked("m2")
    assert stage.exec([a, b], NOW) == [b]
    assert stage.exec([a, b], NOW + 61) == [a, b]  # expired
    stored.append(Silence(id="s2", matchers={"model": "m2"}, starts_at=NOW, ends_at=NOW + 1e6))
    assert stage.exec([a, b], NOW + 62) == [a, b]  # read 1 s ago: not yet seen
    assert stage.exec([a, b], NOW + 67) == [a]  # re-read


# -- inhibit -----------------------------------------------------------------------------


def test_inhibit_stage_mutes_drift_while_the_same_models_quality_alert_fires():
    stage = InhibitStage(default_inhibitions())
    drift = tracked("m1", "drift.x-psi", "drift.x.psi")
    other = tracked("m2", "drift.x-psi", "drift.x.psi")
    quality = tracked("m1", "quality-missing_rate", "quality.x.missing_rate")
    firing = [t.labels for t in (drift, other, quality)]
    assert stage.exec([drift, other, quality], firing) == [other, quality]
    assert stage.exec([drift], [drift.labels]) == [drift]  # never by itself


# -- dedup -------------------------------------------------------------------------------


@pytest.fixture
def route():
    spec = AlertingSpec(receivers={"slack": ConsoleReceiver(), "email": ConsoleReceiver()},
                        routes=[RouteSpec(name="page", receivers=["slack", "email"])])  # fmt: skip
    check_alerting(spec)
    return spec.routes[0]  # repeat_interval 4h, send_resolved


def test_dedup_stage_tells_a_receiver_once_then_what_changed(tmp_path, route):
    stage = DedupStage(SqliteOutbox(tmp_path / "o.sqlite"))
    a, b = tracked("m1", "r1", "accuracy"), tracked("m1", "r2", "f1")
    told = stage.exec(route, "slack", "g", [a], [], NOW)
    assert [x.key for x in told] == [a.alert.key]
    stage.sent("slack", "g", told, NOW)
    assert stage.exec(route, "slack", "g", [a], [], NOW + 60) is None  # nothing new
    assert stage.exec(route, "email", "g", [a], [], NOW + 60) is not None  # per receiver
    told = stage.exec(route, "slack", "g", [a, b], [], NOW + 120)  # b is new
    assert {x.key for x in told} == {a.alert.key, b.alert.key}
    stage.sent("slack", "g", told, NOW + 120)
    b.resolved_at = NOW + 200
    told = stage.exec(route, "slack", "g", [a], [b], NOW + 300)  # b announced resolved
    assert [(x.key, x.state) for x in told] == [(a.alert.key, "firing"),
                                                (b.alert.key, "resolved")]  # fmt: skip
    stage.sent("slack", "g", told, NOW + 300)
    assert stage.exec(route, "slack", "g", [a], [b], NOW + 400) is None  # once only
    assert stage.exec(route, "slack", "g", [a], [], NOW + 300 + 4 * 3600) is not None  # repeat


def test_dedup_stage_forgets_quietly_resolved_alerts_when_resolved_are_not_sent(tmp_path, route):
    route.send_resolved = False
    outbox = SqliteOutbox(tmp_path / "o.sqlite")
    stage = DedupStage(outbox)
    a = tracked()
    stage.sent("slack", "g", stage.exec(route, "slack", "g", [a], [], NOW), NOW)
    a.resolved_at = NOW + 10
    assert stage.exec(route, "slack", "g", [], [a], NOW + 20) is None
    assert outbox.record_get("nflog", "slack|g")["firing"] == []
    a.resolved_at = None  # it fires again: that is news
    assert stage.exec(route, "slack", "g", [a], [], NOW + 30) is not None


# -- retry -------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class Scripted:
    """A receiver answering from a script: None delivers, a DeliveryError fails."""

    name = "hook"

    def __init__(self, *answers: DeliveryError | None):
        self.answers = list(answers)
        self.attempts: list[float] = []
        self.clock: Clock | None = None

    def send(self, notification: Notification) -> None:
        self.attempts.append(self.clock.now if self.clock else 0.0)
        answer = self.answers.pop(0)
        if answer is not None:
            raise answer


def _retry(tmp_path, receiver: Scripted, max_attempts=5):
    spec = AlertingSpec(retry_initial=1.0, retry_max=60.0, max_attempts=max_attempts)
    check_alerting(spec)
    clock = Clock()
    receiver.clock = clock
    outbox = SqliteOutbox(tmp_path / "o.sqlite")
    given_up: list[str] = []
    stage = RetryStage(outbox, {"hook": receiver}, spec, clock, random.Random(1),
                       lambda n, error: given_up.append(error))  # fmt: skip
    outbox.add(Notification(id="n1", receiver="hook", route="page", group_key="g",
                            group_labels={}, status="firing", alerts=[tracked().alert],
                            created_at=NOW))  # fmt: skip
    return stage, outbox, clock, given_up


def _drive(stage: RetryStage, outbox, clock: Clock, until: float) -> list[str]:
    """Attempt whatever is due, jumping the clock to the next due time, until ``until``."""
    outcomes = []
    while clock.now <= until:
        for item in outbox.due(clock.now):
            outcomes.append(stage.exec(item))
        next_due = outbox.next_due()
        if next_due is None:
            break
        clock.now = max(clock.now, next_due)
    return outcomes


def test_retry_stage_backs_off_honours_retry_after_and_delivers_once(tmp_path):
    receiver = Scripted(DeliveryError("503", True), DeliveryError("429", True, retry_after=30.0),
                        None)  # fmt: skip
    stage, outbox, clock, given_up = _retry(tmp_path, receiver)
    assert _drive(stage, outbox, clock, NOW + 3600) == ["retried", "retried", "delivered"]
    first, second, third = receiver.attempts
    rng = random.Random(1)
    assert second - first == pytest.approx(backoff(0, 1.0, 60.0, rng))  # equal jitter, > 0
    assert third - second >= 30.0  # never before Retry-After
    item = outbox.get("n1")
    assert item.status == "delivered" and item.attempts == 3 and given_up == []


def test_retry_stage_gives_up_on_permanent_errors_and_after_max_attempts(tmp_path):
    receiver = Scripted(DeliveryError("HTTP 404", False))
    stage, outbox, clock, given_up = _retry(tmp_path, receiver)
    assert _drive(stage, outbox, clock, NOW + 3600) == ["failed"]
    assert outbox.get("n1").status == "failed" and given_up == ["HTTP 404"]

    receiver = Scripted(*[DeliveryError("timeout", True)] * 3)
    (tmp_path / "again").mkdir()
    stage, outbox, clock, given_up = _retry(tmp_path / "again", receiver, max_attempts=3)
    assert _drive(stage, outbox, clock, NOW + 3600) == ["retried", "retried", "failed"]
    assert given_up == ["timeout (gave up after 3 attempts)"]
