"""The alert record: what a notifier receives and what the JSONL log keeps."""

from __future__ import annotations

import hashlib
from typing import Literal

import msgspec


def dedup_key(model: str, rule: str, metric: str) -> str:
    """Stable across restarts and processes: the same breach is the same alert."""
    return hashlib.sha256(f"{model}\x1f{rule}\x1f{metric}".encode()).hexdigest()[:16]


class Alert(msgspec.Struct, kw_only=True):
    key: str
    model: str
    rule: str
    metric: str
    state: Literal["firing", "resolved"]
    severity: str
    value: float
    op: str
    threshold: float
    # Event time at which the metric first breached (the start of this episode),
    # and event time of this transition.
    first_event_time: float
    event_time: float
    description: str = ""

    def summary(self) -> str:
        verb = "FIRING" if self.state == "firing" else "resolved"
        return (
            f"[{verb}] {self.model}: {self.metric} = {self.value:.4g} "
            f"(threshold {self.op} {self.threshold:g}, {self.severity})"
        )
