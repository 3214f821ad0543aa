"""The pipeline: raw messages in, detector state, readings and alerts out.

One object, driven by any runtime (embedded replay today, Kafka consumers next):
``process(batch)`` decodes each message, routes it to its model's monitor and,
every ``runtime.evaluate_every`` events of a model, evaluates that model:
expire old joins, compute readings, store them, run the rules, dispatch alerts.
``checkpoint()`` writes all state in one store transaction; ``restore()`` reads
it back, so a restarted runtime continues where the last checkpoint left off.

Time is the *stream clock*, the newest event time seen, so a replay of last
month's events behaves exactly as the live run did.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from driftd.alerts.defaults import configured_rules, default_rules
from driftd.alerts.model import Alert
from driftd.alerts.notify import Dispatcher
from driftd.alerts.rules import RuleEngine
from driftd.config import Config
from driftd.consumers.deadletters import DeadLetterFile
from driftd.detectors.monitor import ModelMonitor, RejectedEvent
from driftd.events import DeadLetter, EventDecoder, Label, encode
from driftd.reference import load_reference
from driftd.store import Store

log = logging.getLogger("driftd.pipeline")

Message = tuple[bytes, str, int | None]  # raw bytes, source, offset


class Pipeline:
    def __init__(
        self, config: Config, store: Store, dispatcher: Dispatcher, dead_letters: DeadLetterFile
    ):
        self.config = config
        self.store = store
        self.dispatcher = dispatcher
        self.dead_letters = dead_letters
        self.decoder = EventDecoder(set(config.models), config.runtime.max_event_bytes)
        self.monitors: dict[str, ModelMonitor] = {}
        rules = []
        for model_id, spec in config.models.items():
            monitor = ModelMonitor(model_id, spec, load_reference(model_id, spec))
            self.monitors[model_id] = monitor
            if spec.default_rules:
                rules.extend(default_rules(model_id, spec, monitor))
            rules.extend(configured_rules(model_id, spec))
        self.engine = RuleEngine(rules)
        self.clock: float | None = None
        self.processed = 0

    # -- data path ------------------------------------------------------------------

    def process(self, batch: Iterable[Message]) -> None:
        every = self.config.runtime.evaluate_every
        for raw, source, offset in batch:
            self.processed += 1
            event = self.decoder.decode(raw, source, offset)
            if isinstance(event, DeadLetter):
                self.dead_letters.add(event)
                continue
            if self.clock is None or event.timestamp > self.clock:
                self.clock = event.timestamp
            monitor = self.monitors[event.model_id]
            try:
                if isinstance(event, Label):
                    monitor.on_label(event)
                else:
                    monitor.on_prediction(event)
            except RejectedEvent as exc:
                self.dead_letters.add(DeadLetter.of(raw, exc.reason, exc.detail, source, offset))
                continue
            if monitor.since_evaluation >= every:
                self.evaluate(event.model_id)
        self.dead_letters.flush()

    def evaluate(self, model_id: str) -> list[Alert]:
        monitor = self.monitors[model_id]
        monitor.since_evaluation = 0
        now = self.clock if self.clock is not None else 0.0
        for event_id, event_time, y in monitor.expire(now):
            self._orphan(monitor, event_id, event_time, y)
        readings = monitor.readings(now)
        self.store.append_readings(model_id, now, readings)
        alerts = self.engine.evaluate(model_id, readings, now)
        self.dispatcher.dispatch(alerts)
        return alerts

    def evaluate_all(self) -> list[Alert]:
        alerts = []
        for model_id in self.monitors:
            alerts.extend(self.evaluate(model_id))
        self.dead_letters.flush()
        return alerts

    def _orphan(self, monitor: ModelMonitor, event_id: str, event_time: float, y: Any) -> None:
        label = monitor.class_names[int(y)] if monitor.classification else y
        raw = encode(
            Label(event_id=event_id, model_id=monitor.model_id, timestamp=event_time, label=label)
        )
        detail = (
            f"no prediction with this event_id arrived within the join TTL ({monitor.join.ttl:g}s)"
        )
        self.dead_letters.add(DeadLetter.of(raw, "orphan_label", detail, "join", None))

    # -- state ----------------------------------------------------------------------

    def checkpoint(self) -> None:
        self.dead_letters.flush()
        items: dict[str, Any] = {
            f"monitor:{model_id}": monitor.snapshot() for model_id, monitor in self.monitors.items()
        }
        items["rules"] = self.engine.snapshot()
        items["pipeline"] = {
            "clock": self.clock,
            "processed": self.processed,
            "dead_letters": dict(self.dead_letters.counts),
        }
        self.store.save_state(items)

    def restore(self) -> bool:
        """Load the last checkpoint, if any. Returns whether one was found."""
        meta = self.store.load_state("pipeline")
        if meta is None:
            return False
        self.clock = meta["clock"]
        self.processed = meta["processed"]
        self.dead_letters.counts.update(meta["dead_letters"])
        for model_id, monitor in self.monitors.items():
            state = self.store.load_state(f"monitor:{model_id}")
            if state is not None:
                monitor.restore(state)
        self.engine.restore(self.store.load_state("rules") or {})
        return True

    def event_counts(self) -> dict[str, Any]:
        return {
            "processed": self.processed,
            "predictions": sum(m.counts["predictions"] for m in self.monitors.values()),
            "labels": sum(m.counts["labels"] for m in self.monitors.values()),
            "dead_letters": self.dead_letters.total,
            "dead_letter_reasons": dict(self.dead_letters.counts),
        }
