"""The read side the HTTP server shows: models, readings, history, alerts, silences, versions.

It reads what the runtimes write (the store's readings, the alert log, the outbox's
silences, the registry), so the same server works inside `driftd run`, next to an
embedded replay, or on its own over a state directory (`driftd serve`).
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

import msgspec

from driftd.alerts.outbox import Outbox
from driftd.alerts.silences import silences
from driftd.alerts.standing import standing
from driftd.config import Config
from driftd.retrain.registry import ModelRegistry
from driftd.store import Store


class StateView:
    def __init__(
        self,
        config: Config,
        store: Store,
        alert_log: Path,
        outbox: Outbox | None,
        registry: ModelRegistry,
    ):
        self.config = config
        self.store = store
        self.alert_log = alert_log
        self.outbox = outbox
        self.registry = registry
        self._models: Any = None

    def models(self) -> list[dict[str, Any]]:
        out = []
        for model_id, spec in self.config.models.items():
            latest = self.store.latest_readings(model_id)
            out.append(
                {
                    "model": model_id,
                    "task": spec.task,
                    "features": list(spec.features),
                    "event_time": None if latest is None else latest[0],
                    "metrics": {} if latest is None else latest[1],
                    "champion": self.registry.champion(model_id),
                }
            )
        return out

    def model(self, model_id: str) -> dict[str, Any] | None:
        return next((m for m in self.models() if m["model"] == model_id), None)

    def rules(self, model_id: str) -> list[Any]:
        """The model's rules (defaults and configured), as the daemon evaluates them."""
        return [rule for rule in self._catalog().rules if rule.model == model_id]

    def feature_views(self, model_id: str) -> list[dict[str, Any]]:
        """Per feature: the reading its drift rule judges (with the rule's comparison and
        threshold) and its distribution, reference vs the current window, from the
        detectors restored from the last checkpoint (empty before one exists)."""
        from driftd.detectors.drift import FeatureDrift

        monitor = self._catalog().new_monitor(model_id)
        state = self.store.load_state(f"monitor:{model_id}")
        if state is not None:
            monitor.restore(state)
        out = []
        for detector in monitor.detectors:
            if isinstance(detector, FeatureDrift):
                reading, op, threshold = detector.watched()
                distribution = detector.distribution() if state is not None else None
                out.append({"feature": detector.feature, "reading": reading, "op": op,
                            "threshold": threshold, "distribution": distribution})  # fmt: skip
        return out

    def _catalog(self) -> Any:
        """The models' contexts and rules, built once (it reads the reference files)."""
        if self._models is None:
            from driftd.daemon.catalog import ModelCatalog

            self._models = ModelCatalog(self.config)
        return self._models

    def history(self, model_id: str, metric: str, limit: int = 500) -> list[list[Any]]:
        return [[t, v] for t, v in self.store.history(model_id, metric, limit)]

    def alerts(self, limit: int = 500, standing: bool = True) -> dict[str, Any]:
        """The newest transitions, and the alerts firing now (the last state per key),
        each with its current value, value at firing and worst (``standing``; a
        Prometheus scrape, which needs only which alerts fire, skips those reads)."""
        if not self.alert_log.exists():
            return {"firing": [], "recent": []}
        with self.alert_log.open() as handle:
            recent = [json.loads(line) for line in deque(handle, maxlen=limit) if line.strip()]
        last: dict[str, dict] = {}
        for alert in recent:
            last[alert["key"]] = alert
        # Retraining outcomes are announcements, not conditions: never "firing now".
        firing = [a for a in last.values()
                  if a["state"] == "firing" and a["metric"] != "retrain.outcome"]  # fmt: skip
        if standing:
            latest = {m: self.store.latest_readings(m) for m in {a["model"] for a in firing}}
            firing = [{**a, **self._standing(a, latest[a["model"]])} for a in firing]
        return {"firing": firing, "recent": recent[::-1]}

    def _standing(self, alert: dict[str, Any], latest: Any) -> dict[str, float | None]:
        """The firing alert's current value, value at firing and worst since, from the
        readings the store keeps (the alert log has only its transitions)."""
        current = None if latest is None else latest[1].get(alert["metric"])
        fired = alert.get("fired_value")
        now = standing(
            alert["op"], alert["value"] if fired is None else fired, alert["first_event_time"],
            self.store.history(alert["model"], alert["metric"], 1000), current,
        )  # fmt: skip
        return {"current": now.current, "at_firing": now.at_firing, "worst": now.worst}

    def silences(self) -> list[dict[str, Any]]:
        if self.outbox is None:
            return []
        return [msgspec.to_builtins(s) for s in silences(self.outbox)]

    def runs(self, model_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """Retraining runs of a model, newest first."""
        return self.registry.runs(model_id)[::-1][:limit]

    def versions(self, model_id: str) -> dict[str, Any]:
        return {
            "aliases": self.registry.aliases(model_id),
            "versions": [self.registry.meta(model_id, v) for v in self.registry.versions(model_id)],
            "trial": self.registry.trial(model_id),
        }
