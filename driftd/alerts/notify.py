"""The alert log (console, JSONL) and the dispatcher that also feeds the alert manager.

A notifier is one method, ``send(alert)``, raising on failure. The dispatcher
writes every transition to the configured log notifiers at once (``notifiers:``
in the config: the complete, ungrouped record) and hands it to the alert
manager, which routes, groups and paces notifications for people (Slack, email,
webhooks) through the durable outbox. A failing log notifier is logged and
counted, never raised: it must not stop the pipeline.
"""

from __future__ import annotations

import logging
import sys
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

import msgspec

from driftd.alerts.model import Alert
from driftd.events import format_timestamp

if TYPE_CHECKING:
    from driftd.alerts.wiring import Alerting

log = logging.getLogger("driftd.alerts")


class Notifier(Protocol):
    name: str

    def send(self, alert: Alert) -> None: ...


class ConsoleNotifier:
    name = "console"

    def __init__(self, stream: TextIO | None = None):
        self._stream = stream

    def send(self, alert: Alert) -> None:
        stream = self._stream or sys.stderr
        since = format_timestamp(alert.first_event_time)
        stream.write(f"{alert.summary()} since {since}\n")
        if alert.description and alert.state == "firing":
            stream.write(f"    {alert.description}\n")
        stream.flush()


class JsonlNotifier:
    """Appends one JSON object per alert transition; the file is the alert log."""

    name = "jsonl"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._encoder = msgspec.json.Encoder()

    def send(self, alert: Alert) -> None:
        with self.path.open("ab") as handle:
            handle.write(self._encoder.encode(alert) + b"\n")


class Dispatcher:
    """Fans each alert out to every notifier; failures are logged and counted, never raised."""

    def __init__(
        self,
        notifiers: list[Notifier],
        alerting: Alerting | None = None,
        listeners: list[Callable[[list[Alert]], None]] | None = None,
    ):
        self.notifiers = notifiers
        self.alerting = alerting
        # Other consumers of alert transitions (retraining triggers).
        self.listeners = list(listeners or [])
        # The most recent alerts (for summaries); bounded, the daemon runs for months.
        self.sent: deque[Alert] = deque(maxlen=10_000)
        self.failures: dict[str, int] = {}

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
            for notifier in self.notifiers:
                try:
                    notifier.send(alert)
                except Exception as exc:  # a channel must never stop the pipeline
                    self.failures[notifier.name] = self.failures.get(notifier.name, 0) + 1
                    log.error("notifier %s failed for alert %s: %s", notifier.name, alert.key, exc)
