"""The dedup stage: tell a receiver about a group only when there is something new.

What each receiver was last told about each group is the notification log
(Alertmanager's nflog), kept in the outbox's records so a restart neither repeats
nor forgets a notice. A flush of a group notifies a receiver when an alert it was
not told about is firing, when one escalated (worsened) past what it was told, when
(``send_resolved``) one it was told about has resolved, or when ``repeat_interval``
has passed with alerts still firing.
"""

from __future__ import annotations

import msgspec

from driftd.alerts.model import Alert, Tracked
from driftd.alerts.outbox import Outbox
from driftd.config.alerting import RouteSpec

NFLOG = "nflog"


class DedupStage:
    def __init__(self, outbox: Outbox):
        self.outbox = outbox

    def exec(
        self,
        route: RouteSpec,
        receiver: str,
        group_key: str,
        firing: list[Tracked],
        resolved: list[Tracked],
        now: float,
        repeat_interval: float | None = None,
    ) -> list[Alert] | None:
        """The alerts to tell ``receiver`` now (their states as announced), or None.
        ``repeat_interval`` overrides the route's (an Alertmanager receiver's resend)."""
        log_key = f"{receiver}|{group_key}"
        entry = self.outbox.record_get(NFLOG, log_key) or {"firing": [], "sent_at": 0.0}
        told_firing = set(entry["firing"])
        firing_keys = {t.alert.key for t in firing}
        newly_resolved = [t for t in resolved if t.alert.key in told_firing]
        if newly_resolved and not route.send_resolved:  # resolved quietly: forget them
            told_firing -= {t.alert.key for t in newly_resolved}
            levels = {k: v for k, v in entry.get("levels", {}).items() if k in told_firing}
            entry = {**entry, "firing": sorted(told_firing), "levels": levels}
            self.outbox.record_put(NFLOG, log_key, entry)
            newly_resolved = []
        # A firing alert escalated past what was told (it worsened): that is news too.
        levels = entry.get("levels", {})
        escalated = any(t.alert.escalation > levels.get(t.alert.key, 0) for t in firing)
        changed = bool(firing_keys - told_firing) or escalated
        every = float(route.repeat_interval if repeat_interval is None else repeat_interval)
        repeat = bool(firing_keys) and now - entry["sent_at"] >= every
        if not (changed or repeat or newly_resolved):
            return None
        # Within the cooldown a resolved alert still counts (and shows) as firing.
        alerts = [_with_state(t.alert, "firing") for t in firing]
        alerts += [_with_state(t.alert, "resolved") for t in newly_resolved]
        return alerts

    def sent(self, receiver: str, group_key: str, alerts: list[Alert], now: float) -> None:
        """Record what ``receiver`` has now been told (once the notice is in the outbox).

        Merged into what it was told before, not overwritten: after a partition moved,
        two processes may each hold part of a group for a moment, and neither may
        erase what the other announced (they would take turns re-announcing it).
        """
        log_key = f"{receiver}|{group_key}"
        entry = self.outbox.record_get(NFLOG, log_key) or {"firing": []}
        resolved = {a.key for a in alerts if a.state == "resolved"}
        told = (set(entry["firing"]) - resolved) | {a.key for a in alerts if a.state == "firing"}
        levels = {k: v for k, v in entry.get("levels", {}).items() if k in told}
        for alert in alerts:
            if alert.state == "firing" and alert.escalation:
                levels[alert.key] = max(levels.get(alert.key, 0), alert.escalation)
        self.outbox.record_put(
            NFLOG, log_key, {"firing": sorted(told), "levels": levels, "sent_at": now}
        )


def _with_state(alert: Alert, state: str) -> Alert:
    return alert if alert.state == state else msgspec.structs.replace(alert, state=state)
