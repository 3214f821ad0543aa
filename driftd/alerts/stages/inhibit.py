"""Inhibition: while a source alert fires, matching target alerts are not notified.

The default: a data-quality or silence alert on a model mutes that model's drift
alerts, because broken input explains drifted input and one page is enough.
"""

from __future__ import annotations

from collections.abc import Iterable

from driftd.alerts.matchers import matches
from driftd.alerts.model import Tracked
from driftd.config.alerting import InhibitSpec


class InhibitStage:
    def __init__(self, rules: list[InhibitSpec]):
        self.rules = rules

    def inhibited(self, target: dict[str, str], firing: Iterable[dict[str, str]]) -> bool:
        firing = list(firing)
        for rule in self.rules:
            if not matches(rule.target, target):
                continue
            for source in firing:
                if source is target or matches(rule.target, source):
                    continue  # an alert never inhibits itself or its own kind
                if matches(rule.source, source) and all(
                    source.get(label) == target.get(label) for label in rule.equal
                ):
                    return True
        return False

    def exec(self, candidates: list[Tracked], firing: list[dict[str, str]]) -> list[Tracked]:
        """The candidates nothing in ``firing`` (label sets of firing alerts) inhibits."""
        return [t for t in candidates if not self.inhibited(t.labels, firing)]
