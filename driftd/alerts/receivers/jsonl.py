"""A JSONL file: one JSON object per alert transition (the alert log is one of these)."""

from __future__ import annotations

from pathlib import Path

import msgspec

from driftd.alerts.model import Notification
from driftd.alerts.receivers import ReceiverContext
from driftd.config.alerting import JsonlReceiver


class JsonlFile:
    def __init__(self, name: str, path: str | Path):
        self.name = name
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._encoder = msgspec.json.Encoder()

    def send(self, notification: Notification) -> None:
        lines = b"".join(self._encoder.encode(alert) + b"\n" for alert in notification.alerts)
        with self.path.open("ab") as handle:
            handle.write(lines)


def build(name: str, spec: JsonlReceiver, context: ReceiverContext) -> JsonlFile:
    return JsonlFile(name, spec.path or context.state_dir / f"alerts-{name}.jsonl")
