"""The alert lifecycle between the rules and the receivers: route, group, pace, dedup.

Rules emit *transitions* (firing, resolved). The manager keeps each alert's
current state, puts it in the groups of the routes it matches (grouped by model
unless configured otherwise) and, on ``tick()``, flushes the groups that are due:

- a new group waits ``group_wait`` (more alerts of the same model arrive together);
- a group is then looked at every ``group_interval``; it notifies a receiver only
  if something changed for that receiver: new firing alerts, or (``send_resolved``)
  alerts that were announced firing and are now resolved; an unchanged firing group
  is repeated every ``repeat_interval``;
- a receiver that must hear of firing alerts again and again (an Alertmanager, which
  resolves what is not re-sent) repeats them every ``resend_interval`` instead;
- an alert that resolves counts as still firing until it has stayed resolved for
  ``cooldown``; a re-fire within it continues the same episode. A metric flapping
  around its threshold therefore gives one firing and one resolved notice.

A flush runs the group through the stages (alerts/stages/): silenced and
inhibited alerts are left out, then per receiver the dedup stage decides against
the notification log whether there is anything to say. Every notification goes into
the durable outbox; the delivery worker sends it. Timing uses ``clock`` (wall time
in the daemon; a simulated clock in tests).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from driftd.alerts.matchers import labels, matches
from driftd.alerts.model import Alert, Notification, Tracked
from driftd.alerts.outbox import Outbox
from driftd.alerts.silences import silences
from driftd.alerts.stages.dedup import DedupStage
from driftd.alerts.stages.inhibit import InhibitStage
from driftd.alerts.stages.silence import SilenceStage
from driftd.alerts.standing import Standing, standing
from driftd.config.alerting import AlertingSpec, RouteSpec
from driftd.detectors.evidence import ranked_drift

log = logging.getLogger("driftd.alerts")

History = Callable[[str, str], list[tuple[float, float | None]]]


@dataclass
class Group:
    route: RouteSpec
    key: str
    labels: dict[str, str]
    next_flush: float
    members: set[str] = field(default_factory=set)


class AlertManager:
    def __init__(
        self,
        spec: AlertingSpec,
        outbox: Outbox,
        clock: Callable[[], float] = time.time,
        history: History | None = None,
    ):
        self.spec = spec
        self.outbox = outbox
        self.clock = clock
        self.history = history
        self.silence = SilenceStage(lambda: silences(outbox))
        self.inhibit = InhibitStage(spec.inhibit)
        self.dedup = DedupStage(outbox)
        self.tracked: dict[str, Tracked] = {}
        self.groups: dict[str, Group] = {}
        self.latest: dict[str, dict[str, float | None]] = {}  # readings per model

    # -- input ------------------------------------------------------------------------

    def receive(
        self, alerts: list[Alert], readings: dict[str, dict[str, float | None]] | None = None
    ) -> None:
        now = self.clock()
        if readings:
            self.latest.update(readings)
        for alert in alerts:
            alert_labels = labels(alert)
            routes = self._routes_for(alert_labels)
            if not routes:  # nobody is to be told: keep no state for it
                self.tracked.pop(alert.key, None)
                continue
            tracked = self.tracked.get(alert.key)
            if tracked is None:
                tracked = self.tracked[alert.key] = Tracked(alert, alert_labels)
            tracked.alert = alert
            tracked.resolved_at = now if alert.state == "resolved" else None
            for route in routes:
                self._join_group(route, alert.key, tracked.labels, now)

    def hand_over(self, models: set[str]) -> int:
        """These models' partition moves to another process, which tells about them from
        now on: flush their groups now (what this process saw fire is told once, by it:
        the next owner restores those alerts as already firing), then drop them (a stale
        copy here would repeat them, or re-announce what the next owner resolved).
        Returns how many notifications were queued."""
        now = self.clock()
        gone = {key for key, t in self.tracked.items() if t.alert.model in models}
        queued = 0
        for group in list(self.groups.values()):
            if group.members & gone:
                queued += self._flush(group, now)
        for key in gone:
            self.tracked.pop(key, None)
        for group in list(self.groups.values()):
            group.members -= gone
            if not group.members:
                del self.groups[group.key]
        for model in models:
            self.latest.pop(model, None)
        return queued

    def _routes_for(self, alert_labels: dict[str, str]) -> list[RouteSpec]:
        chosen = []
        for route in self.spec.routes:
            if matches(route.match, alert_labels):
                chosen.append(route)
                if not route.continue_:
                    break
        return chosen

    def _join_group(self, route: RouteSpec, key: str, alert_labels: dict[str, str], now: float):
        group_labels = {label: alert_labels[label] for label in route.group_by}
        group_key = route.name + "|" + "|".join(f"{k}={v}" for k, v in group_labels.items())
        group = self.groups.get(group_key)
        if group is None:
            group = self.groups[group_key] = Group(
                route, group_key, group_labels, now + float(route.group_wait)
            )
        group.members.add(key)

    # -- output -----------------------------------------------------------------------

    def tick(self, flush_all: bool = False) -> int:
        """Flush the groups that are due (all of them with ``flush_all``); returns how
        many notifications were queued."""
        now = self.clock()
        queued = 0
        for group in list(self.groups.values()):
            if flush_all or group.next_flush <= now:
                queued += self._flush(group, now)
        return queued

    def _flush(self, group: Group, now: float) -> int:
        route = group.route
        cooldown = float(route.cooldown)
        members = [self.tracked[key] for key in sorted(group.members) if key in self.tracked]
        audible = self.silence.exec(members, now)
        firing_labels = [t.labels for t in self.tracked.values() if t.firing(now, cooldown)]
        firing = self.inhibit.exec([t for t in audible if t.firing(now, cooldown)], firing_labels)
        resolved = [t for t in audible if not t.firing(now, cooldown)]
        queued = 0
        for receiver in route.receivers:
            alerts = self.dedup.exec(route, receiver, group.key, firing, resolved, now,
                                     self._resend_interval(receiver))  # fmt: skip
            if alerts is not None:
                self.outbox.add(self._notification(group, receiver, alerts, now))
                self.dedup.sent(receiver, group.key, alerts, now)
                queued += 1
        # Resolved past the cooldown and announced: they leave the group (and memory).
        for tracked in resolved:
            group.members.discard(tracked.alert.key)
            if not any(tracked.alert.key in g.members for g in self.groups.values()):
                self.tracked.pop(tracked.alert.key, None)
        if not group.members:
            del self.groups[group.key]
        else:
            resends = [self._resend_interval(r) for r in route.receivers]
            group.next_flush = now + min([float(route.group_interval)]
                                         + [r for r in resends if r is not None])  # fmt: skip
        return queued

    def _resend_interval(self, receiver: str) -> float | None:
        """How often this receiver must be told of firing alerts again, if it must."""
        every = getattr(self.spec.receivers.get(receiver), "resend_interval", None)
        return None if every is None else float(every)

    def _notification(
        self, group: Group, receiver: str, alerts: list[Alert], now: float
    ) -> Notification:
        history = self._histories(alerts)
        return Notification(
            id=_idempotency_key(receiver, group.key, now, alerts),
            receiver=receiver,
            route=group.route.name,
            group_key=group.key,
            group_labels=group.labels,
            status="firing" if any(a.state == "firing" for a in alerts) else "resolved",
            alerts=alerts,
            created_at=now,
            dashboard_url=self.spec.dashboard_url,
            top_drift=self._top_drift({a.model for a in alerts}),
            history=history,
            standing={a.key: self._standing(a, history) for a in alerts if a.state == "firing"},
        )

    def _standing(
        self, alert: Alert, history: dict[str, list[tuple[float, float | None]]]
    ) -> Standing:
        current = self.latest.get(alert.model, {}).get(alert.metric)
        since = alert.first_event_time
        return standing(alert.op, alert.at_firing, since, history.get(alert.key, []), current)

    def _top_drift(self, models: set[str]) -> dict[str, list[tuple[str, float]]]:
        ranked = {model: ranked_drift(self.latest.get(model, {})) for model in models}
        return {model: moved for model, moved in ranked.items() if moved}

    def _histories(self, alerts: list[Alert]) -> dict[str, list[tuple[float, float | None]]]:
        if self.history is None:
            return {}
        out = {}
        for alert in alerts:
            try:
                out[alert.key] = self.history(alert.model, alert.metric)[-200:]
            except Exception as exc:  # a chart is a nicety; the notice must still go
                log.warning("no history for %s/%s: %s", alert.model, alert.metric, exc)
        return out


def _idempotency_key(receiver: str, group_key: str, now: float, alerts: list[Alert]) -> str:
    content = "|".join(sorted(f"{a.key}:{a.state}" for a in alerts))
    return hashlib.sha256(
        f"{receiver}\x1f{group_key}\x1f{now!r}\x1f{content}".encode()
    ).hexdigest()[:32]
