"""The console: one line per alert of a notification, on stderr (people at a terminal);
with ``--log-format json``, one JSON log line per alert instead (stderr stays JSON)."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from driftd.alerts.model import Notification
from driftd.alerts.receivers import ReceiverContext
from driftd.config.alerting import ConsoleReceiver
from driftd.events import format_timestamp
from driftd.logs import json_mode

log = logging.getLogger("driftd.alerts.console")


class Console:
    def __init__(self, name: str = "console", stream: TextIO | None = None):
        self.name = name
        self._stream = stream

    def send(self, notification: Notification) -> None:
        if self._stream is None and json_mode():
            for alert in notification.alerts:
                since = format_timestamp(alert.first_event_time)
                log.warning("%s since %s", alert.summary(), since, extra={"model": alert.model})
            return
        stream = self._stream or sys.stderr
        for alert in notification.alerts:
            stream.write(f"{alert.summary()} since {format_timestamp(alert.first_event_time)}\n")
            if alert.description and alert.state == "firing":
                stream.write(f"    {alert.description}\n")
        stream.flush()


def build(name: str, spec: ConsoleReceiver, context: ReceiverContext) -> Console:
    return Console(name, context.stream)
