"""Console and JSONL as route receivers: each alert of a notification, one line each."""

from __future__ import annotations

from driftd.alerts.model import Notification
from driftd.alerts.notify import Notifier


class LogChannel:
    def __init__(self, name: str, notifier: Notifier):
        self.name = name
        self._notifier = notifier

    def send(self, notification: Notification) -> None:
        for alert in notification.alerts:
            self._notifier.send(alert)
