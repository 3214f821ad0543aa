"""Rules turn readings into alerts with a lifecycle: inactive -> pending -> firing -> resolved.

A rule is (model, metric pattern, comparison, threshold, for-duration, severity).
A metric that breaches becomes *pending*; if it still breaches ``for`` seconds of
event time later it *fires* (once). A rule with an ``evidence_metric`` (the default
accuracy rule) breaches only while that calibrated sequential test holds an alarm,
and resolves when it no longer does. It *resolves* only when the value comes back
past the threshold by the rule's hysteresis, so a metric hovering at the
threshold does not flap. Patterns use shell globs (``drift.*.wasserstein``): each
matching metric is its own alert with its own stable dedup key.
"""

from __future__ import annotations

import fnmatch
import operator
from dataclasses import dataclass
from typing import Any

from driftd.alerts.model import Alert, dedup_key
from driftd.alerts.standing import worse

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


@dataclass(frozen=True)
class Rule:
    name: str
    model: str
    metric: str
    op: str
    threshold: float
    for_seconds: float = 0.0
    severity: str = "warning"
    hysteresis: float | None = None
    description: str = ""
    # Evaluate only once another reading reaches a minimum (e.g. labeled >= 100).
    guard_metric: str | None = None
    guard_minimum: float = 0.0
    # A calibrated sequential test's 0/1 reading ("{metric}" stands for the metric it
    # watches): breached needs it at 1 as well, and its return to 0 resolves. The
    # value crossing the line alone never fires.
    evidence_metric: str | None = None
    # A firing alert whose value worsens by this much (in the metric's unit) past the
    # value last notified is notified again, one severity up: a regression behind an
    # alert already firing is never hidden. None: never. With confidence bounds, the
    # bad-side bound now (``escalate_on``; default: the metric) must be a step worse
    # than the good-side bound (``escalate_from``) has been at its best since the last
    # notice: a claim that the value fell by the step since then, where a bound that
    # merely tightens as samples accrue does not escalate.
    escalate_step: float | None = None
    escalate_on: str | None = None
    escalate_from: str | None = None

    @property
    def margin(self) -> float:
        return self.hysteresis if self.hysteresis is not None else abs(self.threshold) * 0.02

    def breached(self, value: float) -> bool:
        return _OPS[self.op](value, self.threshold)

    def recovered(self, value: float) -> bool:
        """Clearly back on the healthy side: past the threshold by the hysteresis margin."""
        if self.op in ("<", "<="):
            return value >= self.threshold + self.margin and not self.breached(value)
        return value <= self.threshold - self.margin and not self.breached(value)

    def matches(self, metric: str) -> bool:
        return metric == self.metric or fnmatch.fnmatchcase(metric, self.metric)


@dataclass
class _Track:
    state: str = "inactive"  # inactive | pending | firing
    since: float = 0.0
    fired: float = 0.0  # the value at firing
    told: float = 0.0  # the value last notified (at firing or at the last escalation)
    level: int = 0  # escalations so far


_SEVERITIES = ("info", "warning", "critical")


def _reading(name: str, metric: str, readings: dict[str, float | None]) -> float | None:
    """A companion reading of ``metric`` ("{metric}" in ``name`` stands for it)."""
    return readings.get(name.replace("{metric}", metric))


def _told(rule: Rule, metric: str, value: float, readings: dict[str, float | None]) -> float:
    """What a notice tells, as far as escalation goes: the good-side bound, if any."""
    if rule.escalate_from is None:
        return value
    bound = _reading(rule.escalate_from, metric, readings)
    return value if bound is None else bound


def escalated(severity: str, steps: int) -> str:
    """One severity up per step, critical at most."""
    index = _SEVERITIES.index(severity) if severity in _SEVERITIES else 1
    return _SEVERITIES[min(index + steps, len(_SEVERITIES) - 1)]


class RuleEngine:
    def __init__(self, rules: list[Rule]):
        self.rules = rules
        self._tracks: dict[str, _Track] = {}
        # Readings keep the same names tick after tick: which rule watches which
        # metric is worked out once per model and set of names, not per tick.
        self._plans: dict[str, tuple[tuple[str, ...], list[tuple[Rule, list[str]]]]] = {}
        # Firing when a checkpoint was restored: the alert manager (a new process) knows
        # nothing of them, and the receivers that must hear of firing alerts again (an
        # Alertmanager, a repeat_interval) would stop hearing; see resumed().
        self._resume: set[str] = set()

    def _plan(self, model: str, names: tuple[str, ...]) -> list[tuple[Rule, list[str]]]:
        cached = self._plans.get(model)
        if cached is not None and cached[0] == names:
            return cached[1]
        plan = [
            (rule, [metric for metric in names if rule.matches(metric)])
            for rule in self.rules
            if rule.model == model
        ]
        self._plans[model] = (names, plan)
        return plan

    def evaluate(self, model: str, readings: dict[str, float | None], now: float) -> list[Alert]:
        """Advance every matching (rule, metric) and return the transitions to notify."""
        alerts: list[Alert] = []
        for rule, metrics in self._plan(model, tuple(readings)):
            if rule.guard_metric is not None:
                guard = readings.get(rule.guard_metric)
                if guard is None or guard < rule.guard_minimum:
                    continue
            for metric in metrics:
                value = readings[metric]
                if value is None:
                    continue
                evidence = True
                if rule.evidence_metric is not None:
                    evidence = (_reading(rule.evidence_metric, metric, readings) or 0.0) >= 1.0
                alert = self._step(rule, metric, float(value), now, evidence, readings)
                if alert is not None:
                    alerts.append(alert)
        return alerts

    def _step(
        self,
        rule: Rule,
        metric: str,
        value: float,
        now: float,
        evidence: bool = True,
        readings: dict[str, float | None] | None = None,
    ) -> Alert | None:
        key = dedup_key(rule.model, rule.name, metric)
        track = self._tracks.setdefault(key, _Track())
        readings = readings or {}
        if track.state == "firing":
            if rule.recovered(value) or not evidence:
                track.state = "inactive"
                return self._alert(rule, metric, value, key, "resolved", track, now)
            if not rule.escalate_step:
                return None
            if rule.escalate_from is not None:  # the best the good-side bound has been
                good = _told(rule, metric, value, readings)
                if worse(rule.op, track.told, good):
                    track.told = good
            if self._worsened(rule, metric, value, track, readings):
                track.level += 1
                track.told = _told(rule, metric, value, readings)
                return self._alert(rule, metric, value, key, "firing", track, now)
            return None
        if not (evidence and rule.breached(value)):
            track.state = "inactive"
            return None
        if track.state == "inactive":
            track.state, track.since = "pending", now
        if now - track.since >= rule.for_seconds:
            track.state = "firing"
            track.fired, track.told = value, _told(rule, metric, value, readings)
            track.level = 0
            return self._alert(rule, metric, value, key, "firing", track, now)
        return None

    @staticmethod
    def _worsened(
        rule: Rule, metric: str, value: float, track: _Track, readings: dict[str, float | None]
    ) -> bool:
        """A step worse than told: the bad-side bound now past the good-side bound then."""
        now = value if rule.escalate_on is None else _reading(rule.escalate_on, metric, readings)
        step = rule.escalate_step or 0.0
        return now is not None and worse(rule.op, now, track.told) and abs(now - track.told) >= step

    @staticmethod
    def _alert(
        rule: Rule, metric: str, value: float, key: str, state: str, track: _Track, now: float
    ) -> Alert:
        return Alert(
            key=key,
            model=rule.model,
            rule=rule.name,
            metric=metric,
            state=state,  # type: ignore[arg-type]
            severity=escalated(rule.severity, track.level),
            value=value,
            op=rule.op,
            threshold=rule.threshold,
            first_event_time=track.since,
            event_time=now,
            description=rule.description,
            escalation=track.level,
            fired_value=track.fired if track.level else None,
        )

    def resumed(self, model: str, readings: dict[str, float | None], now: float) -> list[Alert]:
        """The model's alerts that were firing at the restore and still are (after this
        tick's ``evaluate``), once each: handed back to the alert manager, not notified
        as news (its notification log knows they were told)."""
        if not self._resume:
            return []
        out = []
        for rule, metrics in self._plan(model, tuple(readings)):
            for metric in metrics:
                key = dedup_key(rule.model, rule.name, metric)
                value = readings.get(metric)
                if key not in self._resume or value is None:
                    continue
                self._resume.discard(key)
                track = self._tracks.get(key)
                if track is not None and track.state == "firing":
                    out.append(self._alert(rule, metric, float(value), key, "firing", track,
                                           now))  # fmt: skip
        return out

    def firing(self) -> list[str]:
        return [key for key, track in self._tracks.items() if track.state == "firing"]

    def snapshot(self) -> dict[str, Any]:
        return {
            key: [t.state, t.since, t.fired, t.told, t.level]
            for key, t in self._tracks.items()
            if t.state != "inactive"
        }

    def restore(self, state: dict[str, Any]) -> None:
        # Before 0.9 a track was [state, since]: no value told to escalate from (NaN).
        nan = float("nan")
        self._tracks = {
            key: _Track(*track) if len(track) == 5 else _Track(track[0], track[1], nan, nan)
            for key, track in state.items()
        }
        self._resume = {key for key, track in self._tracks.items() if track.state == "firing"}
