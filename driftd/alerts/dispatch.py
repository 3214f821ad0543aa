"""The dispatcher: where every alert transition goes as soon as the rules emit it.

Three destinations, in this order:

- the alert manager (when alerting routes are configured), which groups, paces and
  routes notifications for people through the durable outbox;
- listeners: other parts of driftd that act on transitions (a retraining request
  when a trigger alert fires); they hear every transition, never block the pipeline;
- the alert log (``notifiers:`` in the config, console and JSONL by default): the
  complete, ungrouped record, written at once through the same receivers routes use.

A failing listener or log receiver is logged and counted, never raised: the
pipeline must not stop because a disk is full.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import Callable

from driftd.alerts.model import Alert, Notification
from driftd.alerts.receivers import Receiver
from driftd.alerts.wiring import Alerting

log = logging.getLogger("driftd.alerts")

Listener = Callable[[list[Alert]], None]
LOG_ROUTE = "driftd.log"


def log_notification(alert: Alert, receiver: str) -> Notification:
    """One transition as a notification of its own (what the alert log receivers get)."""
    key = hashlib.sha256(
        f"{receiver}\x1f{alert.key}\x1f{alert.state}\x1f{alert.event_time!r}".encode()
    ).hexdigest()[:32]
    return Notification(
        id=key, receiver=receiver, route=LOG_ROUTE, group_key=alert.key,
        group_labels={"model": alert.model}, status=alert.state, alerts=[alert],
        created_at=alert.event_time,
    )  # fmt: skip


class Dispatcher:
    def __init__(
        self,
        log_receivers: list[Receiver],
        alerting: Alerting | None = None,
        listeners: list[Listener] | None = None,
    ):
        self.log_receivers = log_receivers
        self.alerting = alerting
        self.listeners = list(listeners or [])
        # The most recent alerts (for summaries); bounded, the daemon runs for months.
        self.sent: deque[Alert] = deque(maxlen=10_000)
        self.failures: dict[str, int] = {}

    def hand_over(self, models: set[str]) -> None:
        """These models' alerts are another process's to tell now (a partition moved)."""
        if self.alerting is not None and self.alerting.manager.hand_over(models):
            self.alerting.worker.wake()

    def resume(self, alerts: list[Alert]) -> None:
        """Alerts firing since before a restart, back to the alert manager only (they are
        not transitions: the logs and listeners heard of them when they fired)."""
        if self.alerting is not None and alerts:
            self.alerting.manager.receive(alerts)

    def dispatch(
        self, alerts: list[Alert], readings: dict[str, dict[str, float | None]] | None = None
    ) -> None:
        if self.alerting is not None and (alerts or readings):
            self.alerting.manager.receive(alerts, readings)
        for listener in self.listeners if alerts else []:
            try:
                listener(alerts)
            except Exception as exc:  # e.g. the registry directory is unwritable
                log.error("alert listener failed: %s", exc)
        for alert in alerts:
            self.sent.append(alert)
            for receiver in self.log_receivers:
                try:
                    receiver.send(log_notification(alert, receiver.name))
                except Exception as exc:  # a log must never stop the pipeline
                    self.failures[receiver.name] = self.failures.get(receiver.name, 0) + 1
                    log.error("alert log %s failed for alert %s: %s", receiver.name, alert.key,
                              exc)  # fmt: skip
