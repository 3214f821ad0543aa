"""Alertmanager: firing and resolved alerts POSTed to a Prometheus Alertmanager's v2 API.

For teams whose paging already runs through Alertmanager (its routing, inhibition,
high availability and receivers: PagerDuty, Opsgenie...). Each driftd alert becomes
one Alertmanager alert, as Prometheus sends them (``POST /api/v2/alerts``):

- labels: ``alertname`` (the driftd rule), ``model``, ``metric``, ``severity`` and
  ``source="driftd"``: Alertmanager identifies an alert by its labels, so these are
  stable for the alert's life (the value is an annotation);
- annotations: ``summary``, ``description``, ``value``, ``threshold``, ``window``;
- ``startsAt``: when it started breaching (event time; never after the send);
  ``generatorURL``: the model's dashboard page at that time;
- ``endsAt``: while firing, the send + 4 x ``resend_interval``, and the alert is sent again
  every ``resend_interval`` (the alert manager's pacing does that), so that if driftd
  stops, Alertmanager resolves the alerts itself; once resolved, the resolve time.

Delivery goes through the outbox and its retry rules like every receiver: a 5xx or a
network error is retried, a 400 (Alertmanager refusing the alerts) is not.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import msgspec

from driftd.alerts.model import Alert, Notification
from driftd.alerts.receivers import ReceiverContext, post_json
from driftd.alerts.render import alert_link
from driftd.config.alerting import AlertmanagerReceiver
from driftd.credentials import resolve_secret

# Prometheus sends endsAt = now + 4 x its resend delay: three re-sends may be lost
# before Alertmanager resolves an alert that is still firing.
ENDS_AFTER_RESENDS = 4


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


def postable(alert: Alert, notification: Notification, resend_interval: float,
             sent_at: float) -> dict:  # fmt: skip
    """One alert in the v2 API's ``postableAlert`` shape. A firing alert ends 4 resend
    intervals after it is *sent* (``sent_at``), not after the notification was queued:
    a notice retried through a long Alertmanager outage would otherwise arrive already
    ended, and Alertmanager would resolve an alert that still fires. A resolved one
    ends when it resolved."""
    now = notification.created_at
    ends = sent_at + ENDS_AFTER_RESENDS * resend_interval if alert.state == "firing" else now
    labels = {"alertname": alert.rule, "model": alert.model, "metric": alert.metric,
              "severity": alert.severity, "source": "driftd"}  # fmt: skip
    return {
        "labels": labels,
        "annotations": {
            "summary": alert.summary(),
            "description": alert.description or alert.summary(),
            "value": f"{alert.value:.6g}",
            "threshold": f"{alert.op} {alert.threshold:g}",
            "window": alert.window,
        },
        "startsAt": rfc3339(min(alert.first_event_time, now)),
        "endsAt": rfc3339(ends),
        "generatorURL": alert_link(notification, alert),
    }


class Alertmanager:
    def __init__(self, name: str, url: str, resend_interval: float, token: str | None,
                 timeout: float):  # fmt: skip
        self.name = name
        self._url = url.rstrip("/") + "/api/v2/alerts"
        self._resend_interval = resend_interval
        self._token = token
        self._timeout = timeout

    def send(self, notification: Notification) -> None:
        sent_at = max(notification.created_at, time.time())  # created_at: a test's clock
        body = msgspec.json.encode(
            [postable(a, notification, self._resend_interval, sent_at)
             for a in notification.alerts]
        )  # fmt: skip
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        post_json(self._url, body, headers, self._timeout, f"alertmanager {self.name}")


def build(name: str, spec: AlertmanagerReceiver, context: ReceiverContext) -> Alertmanager:
    token = resolve_secret(spec.token_env, f"alerting.receivers.{name}.token_env")
    return Alertmanager(name, spec.url, float(spec.resend_interval), token, spec.timeout)
