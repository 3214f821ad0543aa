"""The alertmanager receiver against a real Prometheus Alertmanager (built from its Go
module by tests/services/gotools.py): driftd's alerts arrive through the v2 API with
their labels and annotations, are re-sent while firing (endsAt moves on), resolve by
endsAt, and Alertmanager routes them on to its own receiver (a webhook stand-in)."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from alerts.conftest import SimClock, make_alert
from services.alertmanager import LocalAlertmanager
from testdata import wait_until

from driftd.alerts.model import Notification
from driftd.alerts.outbox import SqliteOutbox
from driftd.alerts.receivers.alertmanager import postable
from driftd.alerts.wiring import Alerting
from driftd.config.alerting import AlertingSpec, AlertmanagerReceiver, RouteSpec, check_alerting
from driftd.config.loading import load_config_data
from driftd.errors import ConfigError

pytestmark = [pytest.mark.slow]
RESEND = 30.0  # the receiver's resend_interval


@pytest.fixture
def alertmanager(tmp_path, webhook):
    server = LocalAlertmanager(tmp_path, f"{webhook.url}/alertmanager")
    yield server
    server.close()


def _stack(tmp_path, url: str, clock: SimClock) -> Alerting:
    spec = AlertingSpec(
        receivers={"am": AlertmanagerReceiver(url=url, resend_interval=RESEND)},
        routes=[RouteSpec(name="all", receivers=["am"], group_wait=0, group_interval=300,
                          repeat_interval=4 * 3600, cooldown=0)],
        retry_initial=0.2, retry_max=2.0, max_attempts=6,
        dashboard_url="http://127.0.0.1:8080",
    )  # fmt: skip
    check_alerting(spec)
    return Alerting(spec, SqliteOutbox(tmp_path / "outbox.sqlite"), tmp_path, clock=clock)


def _send_due(alerting: Alerting) -> int:
    """Flush the groups due now and deliver what that queued (no retry is expected)."""
    alerting.manager.tick()
    sent = alerting.worker.run_once()
    assert alerting.outbox.next_due() is None, "a delivery failed and waits for a retry"
    return sent


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _notified(webhook, status: str) -> list[dict]:
    """What Alertmanager sent on to its own receiver, with this status."""
    return [r.json() for r in webhook.accepted() if r.json()["status"] == status]


def test_firing_alerts_arrive_labelled_and_are_resent_while_firing(tmp_path, alertmanager,
                                                                   webhook):  # fmt: skip
    clock = SimClock(time.time() + 60)  # ahead of the wall: endsAt counts from it (sent_at)
    alerting = _stack(tmp_path, alertmanager.url, clock)
    alerting.manager.receive([make_alert()])
    assert _send_due(alerting) == 1
    (held,) = alertmanager.alerts()
    assert held["labels"] == {"alertname": "accuracy-drop", "model": "credit",
                              "metric": "accuracy", "severity": "critical",
                              "source": "driftd"}  # fmt: skip
    assert held["annotations"]["value"] == "0.71" and held["annotations"]["threshold"] == "< 0.8"
    assert held["generatorURL"].startswith("http://127.0.0.1:8080/models/credit?at=")
    assert _seconds(held["endsAt"]) == pytest.approx(clock.now + 4 * RESEND, abs=0.01)
    assert held["status"]["state"] == "active"
    # Alertmanager routes it on: its webhook receives the firing group.
    wait_until(lambda: _notified(webhook, "firing"), 60, "Alertmanager's firing notification")
    assert _notified(webhook, "firing")[0]["commonLabels"]["alertname"] == "accuracy-drop"
    # Still firing a resend interval later: sent again, and endsAt moves on by as much.
    first_ends = _seconds(held["endsAt"])
    clock.now += RESEND / 2
    assert _send_due(alerting) == 0  # within the resend interval: nothing to say
    clock.now += RESEND / 2 + 0.1
    assert _send_due(alerting) == 1
    (held,) = alertmanager.alerts()
    assert _seconds(held["endsAt"]) == pytest.approx(first_ends + RESEND + 0.1, abs=0.01)


def test_a_restart_keeps_resending_what_was_firing(tmp_path, alertmanager):
    """A new process (the same outbox, its notification log) is handed the alerts still
    firing (RuleEngine.resumed): no new notice, and the re-sends go on, so Alertmanager
    does not resolve an alert that still fires."""
    clock = SimClock(time.time() + 60)  # ahead of the wall: endsAt counts from it (sent_at)
    alerting = _stack(tmp_path, alertmanager.url, clock)
    alerting.manager.receive([make_alert()])
    assert _send_due(alerting) == 1
    (held,) = alertmanager.alerts()
    first_ends = _seconds(held["endsAt"])
    restarted = _stack(tmp_path, alertmanager.url, clock)  # same state directory
    restarted.manager.receive([make_alert()])  # what Dispatcher.resume hands over
    assert _send_due(restarted) == 0  # already told: not news
    clock.now += RESEND
    assert _send_due(restarted) == 1
    (held,) = alertmanager.alerts()
    assert _seconds(held["endsAt"]) == pytest.approx(first_ends + RESEND, abs=0.01)


def test_a_resolved_alert_ends_at_its_resolve_time(tmp_path, alertmanager, webhook):
    # driftd's clock two resend intervals behind Alertmanager's: the resolve time (one
    # interval after firing) is then already past for Alertmanager, as it is live, where
    # the resolve is sent at once; the firing alert's endsAt (4 intervals) is a minute
    # ahead, margin for a busy machine.
    clock = SimClock(time.time() - 2 * RESEND)
    alerting = _stack(tmp_path, alertmanager.url, clock)
    alerting.manager.receive([make_alert()])
    assert _send_due(alerting) == 1
    assert len(alertmanager.alerts()) == 1  # still active: endsAt is ahead
    alerting.manager.receive([make_alert(state="resolved")])
    clock.now += RESEND  # the group's next look (paced by the resend interval here)
    assert _send_due(alerting) == 1
    assert alertmanager.alerts() == []  # ended: no longer active
    wait_until(lambda: _notified(webhook, "resolved"), 60, "the resolved notification")
    (resolved,) = _notified(webhook, "resolved")[0]["alerts"]
    assert _seconds(resolved["endsAt"]) == pytest.approx(clock.now, abs=0.01)
    assert "level=error" not in alertmanager.log().lower(), alertmanager.log()[-2000:]


@pytest.mark.parametrize("receiver, key", [
    ({"type": "alertmanager", "url": "alertmanager:9093"}, "alerting.receivers.am.url"),
    ({"type": "alertmanager", "url": "http://a:9093", "resend_interval": "0s"},
     "alerting.receivers.am.resend_interval"),
])  # fmt: skip
def test_a_bad_receiver_config_names_the_key(tmp_path, receiver, key):
    model = {"task": "binary", "features": {"x": "numeric"}}
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config_data({"models": {"m": model}, "alerting": {"receivers": {"am": receiver}}},
                         tmp_path)  # fmt: skip


def test_a_notice_delivered_late_still_ends_after_its_send():
    """Retried through an Alertmanager outage, a firing notice queued 10 minutes ago must
    not arrive already ended (Alertmanager would resolve an alert still firing)."""
    queued = time.time() - 600
    notice = Notification(id="n", receiver="am", route="all", group_key="g",
                          group_labels={}, status="firing",
                          alerts=[make_alert(), make_alert(state="resolved", metric="f1")],
                          created_at=queued)  # fmt: skip
    sent = time.time()
    firing, resolved = (postable(a, notice, RESEND, sent) for a in notice.alerts)
    assert _seconds(firing["endsAt"]) == pytest.approx(sent + 4 * RESEND, abs=0.01)
    assert _seconds(resolved["endsAt"]) == pytest.approx(queued, abs=0.01)  # when it resolved
