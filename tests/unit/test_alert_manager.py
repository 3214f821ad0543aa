"""Routing, grouping, pacing, cooldown, silences and inhibition on a simulated clock."""

from __future__ import annotations

import pytest

from driftd.alerts.manager import AlertManager
from driftd.alerts.model import Alert, dedup_key
from driftd.alerts.outbox import SqliteOutbox
from driftd.alerts.silences import Silence, put_silence
from driftd.config.alerting import (
    AlertingSpec,
    ConsoleReceiver,
    RouteSpec,
    check_alerting,
    default_inhibitions,
)


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def alert(state: str, model="m1", rule="accuracy-drop", metric="accuracy", severity="critical"):
    return Alert(
        key=dedup_key(model, rule, metric),
        model=model,
        rule=rule,
        metric=metric,
        state=state,  # type: ignore[arg-type]
        severity=severity,
        value=0.7,
        op="<",
        threshold=0.8,
        first_event_time=0.0,
        event_time=0.0,
    )


@pytest.fixture
def setup(tmp_path):
    spec = AlertingSpec(
        receivers={"a": ConsoleReceiver(), "b": ConsoleReceiver()},
        routes=[RouteSpec(name="page", receivers=["a", "b"])],
    )
    check_alerting(spec)  # durations to seconds
    clock = Clock()
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite")
    return AlertManager(spec, outbox, clock), outbox, clock


def notices(outbox, receiver="a"):
    return [
        (i.notification.status, sorted((a.metric, a.state) for a in i.notification.alerts))
        for i in outbox.items()
        if i.notification.receiver == receiver
    ]


def test_group_wait_collects_a_models_alerts_into_one_notice(setup):
    manager, outbox, clock = setup
    manager.receive([alert("firing")])
    clock.advance(10)
    manager.receive([alert("firing", metric="f1", rule="f1-drop")])
    manager.receive([alert("firing", model="m2")])
    assert manager.tick() == 0  # group_wait (30s) not over
    clock.advance(21)
    assert manager.tick() == 2  # m1's group x 2 receivers; m2's group began 10 s later
    clock.advance(10)
    assert manager.tick() == 2
    assert notices(outbox) == [
        ("firing", [("accuracy", "firing"), ("f1", "firing")]),
        ("firing", [("accuracy", "firing")]),
    ]
    clock.advance(300)
    assert manager.tick() == 0  # nothing changed: no repeat before 4h
    clock.advance(4 * 3600)
    assert manager.tick() == 4  # the reminder


def test_flapping_for_ten_minutes_gives_one_firing_and_one_resolved_notice(setup):
    manager, outbox, clock = setup
    state = "firing"
    for _ in range(40):  # a transition every 15 s for 10 simulated minutes
        manager.receive([alert(state)])
        state = "resolved" if state == "firing" else "firing"
        clock.advance(15)
        manager.tick()
    manager.receive([alert("resolved")])
    for _ in range(120):  # then quiet and healthy for 30 minutes
        clock.advance(15)
        manager.tick()
    assert notices(outbox) == [
        ("firing", [("accuracy", "firing")]),
        ("resolved", [("accuracy", "resolved")]),
    ]
    assert notices(outbox, "b") == notices(outbox)
    assert manager.groups == {} and manager.tracked == {}


def test_restart_remembers_what_was_announced(setup, tmp_path):
    manager, outbox, clock = setup
    manager.receive([alert("firing")])
    clock.advance(31)
    manager.tick()
    # A new process (same outbox): the rule engine only tells it about the resolve.
    fresh = AlertManager(manager.spec, outbox, clock)
    fresh.receive([alert("resolved")])
    clock.advance(301)
    fresh.tick()
    assert notices(outbox) == [
        ("firing", [("accuracy", "firing")]),
        ("resolved", [("accuracy", "resolved")]),
    ]


def test_silenced_alerts_are_not_notified(setup):
    manager, outbox, clock = setup
    put_silence(
        outbox,
        Silence(id="s1", matchers={"metric": "drift.*"}, starts_at=0, ends_at=clock.now + 60),
    )
    manager.receive([alert("firing", metric="drift.x.psi", rule="drift-x-psi")])
    manager.receive([alert("firing")])
    clock.advance(31)
    manager.tick()
    assert notices(outbox) == [("firing", [("accuracy", "firing")])]


def test_a_quality_alert_inhibits_the_models_drift_alerts(tmp_path):
    spec = AlertingSpec(
        receivers={"a": ConsoleReceiver()},
        routes=[RouteSpec(name="all", receivers=["a"])],
        inhibit=default_inhibitions(),
    )
    check_alerting(spec)
    clock = Clock()
    outbox = SqliteOutbox(tmp_path / "o.sqlite")
    manager = AlertManager(spec, outbox, clock)
    manager.receive(
        [
            alert("firing", rule="quality-missing_rate", metric="quality.x.missing_rate"),
            alert("firing", rule="drift-x", metric="drift.x.psi"),
            alert("firing", model="m2", rule="drift-x", metric="drift.x.psi"),
        ]
    )
    clock.advance(31)
    manager.tick()
    sent = {
        i.notification.group_labels["model"]: [a.metric for a in i.notification.alerts]
        for i in outbox.items()
    }
    assert sent == {"m1": ["quality.x.missing_rate"], "m2": ["drift.x.psi"]}


def test_routes_match_by_severity_and_continue(tmp_path):
    spec = AlertingSpec(
        receivers={"pager": ConsoleReceiver(), "log": ConsoleReceiver()},
        routes=[
            RouteSpec(name="critical", match={"severity": "critical"}, receivers=["pager"],
                      **{"continue_": True}),
            RouteSpec(name="everything", receivers=["log"], group_by=[]),
        ],
    )  # fmt: skip
    check_alerting(spec)
    clock = Clock()
    outbox = SqliteOutbox(tmp_path / "o.sqlite")
    manager = AlertManager(spec, outbox, clock)
    manager.receive([alert("firing"), alert("firing", severity="warning", metric="f1")])
    clock.advance(31)
    manager.tick()
    by_receiver = {}
    for item in outbox.items():
        n = item.notification
        by_receiver.setdefault(n.receiver, []).extend(a.metric for a in n.alerts)
    by_receiver = {k: sorted(v) for k, v in by_receiver.items()}
    assert by_receiver == {"pager": ["accuracy"], "log": ["accuracy", "f1"]}


def test_alerts_no_route_matches_leave_no_state(tmp_path):
    spec = AlertingSpec(
        receivers={"a": ConsoleReceiver()},
        routes=[RouteSpec(name="critical", match={"severity": "critical"}, receivers=["a"])],
    )
    check_alerting(spec)
    manager = AlertManager(spec, SqliteOutbox(tmp_path / "o.sqlite"), Clock())
    for i in range(100):  # months of warnings nobody routes must not pile up
        manager.receive([alert("firing", metric=f"m{i}", severity="warning")])
    assert manager.tracked == {} and manager.groups == {}


def test_a_partition_handed_over_is_told_once_by_each_side(setup, tmp_path):
    """The old owner flushes the moved model's groups at once and drops them; the new
    owner (another manager over the same outbox) knows the model's alerts only by new
    transitions. Neither repeats what the other told (a chaos-test finding: two
    processes each holding part of a group took turns re-announcing it)."""
    old, outbox, clock = setup
    old.receive([alert("firing"), alert("firing", metric="f1", rule="f1-drop"),
                 alert("firing", model="m2")])  # fmt: skip
    assert old.hand_over({"m1"}) == 2  # within group_wait, told now rather than never
    assert {a.model for t in old.tracked.values() for a in [t.alert]} == {"m2"}
    new = AlertManager(old.spec, outbox, clock)
    new.receive([alert("firing", metric="latency", rule="slow")])  # fired after the move
    for _ in range(20):
        clock.advance(31)
        old.tick()
        new.tick()
    assert notices(outbox) == [
        ("firing", [("accuracy", "firing"), ("f1", "firing")]),  # the old owner, at once
        ("firing", [("accuracy", "firing")]),  # m2, still the old owner's
        ("firing", [("latency", "firing")]),  # the new owner: only what was new
    ]
    new.receive([alert("resolved")])
    clock.advance(400)  # past the cooldown
    new.tick()
    assert notices(outbox)[-1] == ("firing", [("accuracy", "resolved"), ("latency", "firing")])


def test_a_firing_alert_that_worsened_is_told_again_with_its_current_value_first(setup):
    import msgspec

    manager, outbox, clock = setup
    fired = alert("firing", severity="warning")
    manager.receive([fired], {"m1": {"accuracy": 0.7}})
    clock.advance(31)
    manager.tick()
    worse = msgspec.structs.replace(fired, severity="critical", escalation=1, value=0.55,
                                    fired_value=0.7)  # fmt: skip
    manager.receive([worse], {"m1": {"accuracy": 0.5}})
    clock.advance(301)
    manager.tick()
    manager.receive([worse], {"m1": {"accuracy": 0.52}})  # the same step again: no news
    clock.advance(301)
    manager.tick()
    told = [i.notification for i in outbox.items() if i.notification.receiver == "a"]
    assert [(n.alerts[0].severity, n.alerts[0].escalation) for n in told] == [
        ("warning", 0), ("critical", 1)
    ]
    now = told[1].standing[fired.key]
    assert (now.current, now.at_firing, now.worst) == (0.5, 0.7, 0.5)
    from driftd.alerts.render import text_body

    assert "0.5 now (0.7 at firing, worst 0.5)" in text_body(told[1])
    assert "WORSE (x1) accuracy-drop" in text_body(told[1])
