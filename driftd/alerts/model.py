"""The alert records: an alert transition, the manager's view of it, a notification."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import msgspec

from driftd.alerts.standing import Standing
from driftd.detectors.evidence import Evidence


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
    # Over what the metric was computed, in words ("last 1000 labeled events").
    window: str = ""
    # A firing alert that worsened past its rule's escalate_step is notified again,
    # one severity up: how many steps so far, and the value it first fired at.
    escalation: int = 0
    fired_value: float | None = None
    # Why it fired: when it started, interval, effect, budget, segments or features
    # (taken when it fired or escalated; None on a resolve).
    evidence: Evidence | None = None

    @property
    def at_firing(self) -> float:
        return self.value if self.fired_value is None else self.fired_value

    def summary(self) -> str:
        verb = "FIRING" if self.state == "firing" else "resolved"
        if self.escalation:
            verb = f"WORSE x{self.escalation}"
        fired = f", {self.at_firing:.4g} at firing" if self.fired_value is not None else ""
        return (
            f"[{verb}] {self.model}: {self.metric} = {self.value:.4g} "
            f"(threshold {self.op} {self.threshold:g}{fired}, {self.severity})"
        )


@dataclass
class Tracked:
    """An alert the manager keeps: its latest transition, its labels, when it resolved."""

    alert: Alert
    labels: dict[str, str]
    resolved_at: float | None = None  # wall time of the resolve, None while firing

    def firing(self, now: float, cooldown: float) -> bool:
        """Within the cooldown a resolved alert still counts (and shows) as firing."""
        return self.resolved_at is None or now - self.resolved_at < cooldown


class Notification(msgspec.Struct, kw_only=True):
    """One message to one receiver about one group of alerts (what a receiver sends).

    ``id`` is the idempotency key: stable across retries and restarts, sent with every
    attempt (header, Message-ID, a Slack context line) so a receiver can drop repeats.
    """

    id: str
    receiver: str
    route: str
    group_key: str
    group_labels: dict[str, str]
    status: Literal["firing", "resolved"]
    alerts: list[Alert]
    created_at: float
    dashboard_url: str = ""
    # Per model: the drift statistics that moved most, [[reading, value], ...].
    top_drift: dict[str, list[tuple[str, float]]] = {}
    # Per alert key: recent history of its metric, [[event_time, value], ...].
    history: dict[str, list[tuple[float, float | None]]] = {}
    # Per firing alert key: its current value, the value at firing, the worst since.
    standing: dict[str, Standing] = {}

    def title(self) -> str:
        firing = [a for a in self.alerts if a.state == "firing"]
        resolved = [a for a in self.alerts if a.state == "resolved"]
        scope = ", ".join(f"{k}={v}" for k, v in self.group_labels.items()) or "all models"
        if firing:
            worst = max(firing, key=lambda a: _SEVERITY.get(a.severity, 0)).severity
            extra = f", {len(resolved)} resolved" if resolved else ""
            return f"[FIRING:{len(firing)}] {worst.upper()} {scope}{extra}"
        return f"[RESOLVED] {scope}: {len(resolved)} alert(s) back to normal"


_SEVERITY = {"info": 0, "warning": 1, "critical": 2}
