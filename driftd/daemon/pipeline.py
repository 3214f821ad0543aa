"""The pipeline: raw messages in, detector state, readings and alerts out.

One object per partition, driven by the driver loop (embedded or service, through
daemon/partitions.py) or by the faust agents: ``process(batch)`` decodes each
message, routes it to its model's monitor and, every ``runtime.evaluate_every``
events of a model, evaluates that model: expire old joins, compute readings, run the
rules, dispatch alerts.
``checkpoint(offsets)`` writes the state of the models that changed, the readings
computed since the last checkpoint and the given offsets in one store
transaction; ``restore()`` reads it back, so a restarted runtime continues
exactly where the last checkpoint left off.

The embedded runtime makes a monitor for every configured model up front
(``eager``); the Kafka runtime runs one pipeline per partition and makes
monitors only for the models whose events that partition carries.

Time is the *stream clock*, the newest prediction time seen, so a replay of last
month's events behaves exactly as the live run did. One broken clock cannot move it:
a prediction more than ``runtime.max_clock_jump`` ahead of it is taken at the clock's
time (and counted, ``clock_outliers``) unless ``JUMP_CONFIRMATIONS`` such predictions
have come, which is the stream really moving on (a gap in a replay), or it agrees with
the wall clock (a live stream back from a quiet spell). Labels do not
move it: a label's time is when its outcome became known, often days after the
predictions still arriving, and would age them early. A model gone quiet is still evaluated as the
clock moves on (every quarter of its ``quality.silence_after``), so its silence is
noticed without an event of its own.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from driftd.alerts.dispatch import Dispatcher
from driftd.alerts.model import Alert
from driftd.alerts.rules import RuleEngine
from driftd.config import Config
from driftd.consumers.deadletters import DeadLetterSink
from driftd.consumers.local import Message
from driftd.daemon.catalog import ModelCatalog
from driftd.detectors.encode import RejectedEvent
from driftd.detectors.monitor import SHADOW_PREFIX, ModelMonitor
from driftd.detectors.readings import Readings
from driftd.detectors.shards import ShardMerger
from driftd.detectors.shards import summary as shard_summary
from driftd.events import DeadLetter, Event, EventDecoder, Label, encode
from driftd.sharding import shard_key, shard_of, split_key
from driftd.store import ReadingsRow, Store

log = logging.getLogger("driftd.pipeline")

# Predictions far ahead of the clock that make a real jump of the stream (fewer: one
# broken clock, or a few, whose times are taken as the clock's).
JUMP_CONFIRMATIONS = 8
# A prediction stamped within this of the wall clock (and no older than the jump limit)
# is believed at once: the stream is live and only its clock lagged (a quiet spell).
WALL_SKEW = 300.0
MISROUTED = (
    "this model's events belong on another partition (the producer's key or "
    "partitioner differs from driftd's murmur2 of model_id); set "
    "kafka.repartition: true to route any partitioning"
)


class Pipeline:
    def __init__(
        self,
        config: Config,
        store: Store,
        dispatcher: Dispatcher,
        dead_letters: DeadLetterSink,
        catalog: ModelCatalog | None = None,
        eager: bool = True,
        owns: Callable[[str], bool] | None = None,
    ):
        """``owns(model_id)``: whether this partition's pipeline is the model's place (the
        service reading producers' own partitioning); an event for a model owned
        elsewhere is a ``misrouted`` dead letter, never a second monitor."""
        self.config = config
        self.owns = owns
        self.store = store
        self.dispatcher = dispatcher
        self.dead_letters = dead_letters
        self.catalog = catalog or ModelCatalog(config)
        self.decoder = EventDecoder(set(config.models), config.runtime.max_event_bytes)
        self.monitors: dict[str, ModelMonitor] = {}
        self.engine = RuleEngine(self.catalog.rules)
        self.clock: float | None = None
        self._max_jump = float(config.runtime.max_clock_jump)
        self._ahead: list[float] = []  # recent prediction times far ahead of the clock
        self.clock_outliers = 0
        self._quiet_check_at = float("-inf")  # stream time of the next look for quiet models
        # The finest look: a quarter of the shortest silence_after of the models.
        self._quiet_step = min(float(m.quality.silence_after) for m in config.models.values()) / 4
        self.processed = 0
        self._changed: set[str] = set()
        self._readings: list[ReadingsRow] = []
        self.eager = eager
        self._shards = {m: n for m, n in self.catalog.shards.items() if n > 1}
        self._mergers: dict[str, ShardMerger] = {}  # sharded models whose shard 0 is here
        if eager:
            for model_id in config.models:
                n = self._shards.get(model_id, 1)
                for key in [model_id] if n == 1 else [shard_key(model_id, k) for k in range(n)]:
                    self.monitor(key)

    def monitor(self, key: str) -> ModelMonitor:
        """The monitor of a model, or of one shard of it (``model#k``), made if need be."""
        monitor = self.monitors.get(key)
        if monitor is None:
            monitor = self.monitors[key] = self.catalog.new_monitor(key)
            self._changed.add(key)
        return monitor

    def _key(self, model_id: str, event_id: str) -> str:
        """Where an event's model keeps its state here: its id, or its shard's key."""
        n = self._shards.get(model_id)
        return model_id if n is None else shard_key(model_id, shard_of(event_id, n))

    def models(self) -> set[str]:
        """The models whose readings this pipeline computes (a sharded one's: where its
        shard 0 is)."""
        return {model for model, shard in map(self._split, self.monitors) if not shard}

    def _split(self, key: str) -> tuple[str, int | None]:
        return split_key(key, self.catalog.shards)

    # -- data path ------------------------------------------------------------------

    def process(self, batch: Iterable[Message]) -> None:
        decode = self.decoder.decode
        self.route([(decode(raw, source, offset), raw, source, offset)
                    for raw, source, offset in batch])  # fmt: skip

    def route(self, decoded: Iterable[tuple[Event | DeadLetter, bytes, str, int | None]]) -> None:
        """Feed decoded events to their models' monitors (``process`` minus decoding)."""
        every = self.config.runtime.evaluate_every
        changed = self._changed
        for event, raw, source, offset in decoded:
            self.processed += 1
            if isinstance(event, DeadLetter):
                self.dead_letters.add(event)
                continue
            owns = self.owns
            key = event.model_id if not self._shards else self._key(event.model_id,
                                                                     event.event_id)  # fmt: skip
            if owns is not None and key not in self.monitors and not owns(event.model_id):
                self.dead_letters.add(DeadLetter.of(raw, "misrouted", MISROUTED, source, offset))
                continue
            is_label = isinstance(event, Label)
            look = False
            if not is_label and self.clock is not None and self._far_ahead(event.timestamp):
                event.timestamp = self.clock  # one broken clock: taken at the stream's time
            if not is_label and (self.clock is None or event.timestamp > self.clock):
                look = self._advance(event.timestamp)
            monitor = self.monitors.get(key)
            new = monitor is None
            if monitor is None:
                monitor = self.monitor(key)
            changed.add(key)
            last = monitor.last_prediction_time
            # Back from a quiet spell: evaluate now, so a silence alert resolves at once.
            resumed = (not is_label and last is not None
                       and event.timestamp - last >= monitor.quiet_after)  # fmt: skip
            try:
                if is_label:
                    monitor.on_label(event)
                else:
                    monitor.on_prediction(event)
            except RejectedEvent as exc:
                self.dead_letters.add(DeadLetter.of(raw, exc.reason, exc.detail, source, offset))
                if new:  # no state for a model whose only event here was refused
                    self._forget(key)
                continue
            if monitor.since_evaluation >= every or monitor.alarm_raised or resumed:
                self.evaluate(key)
            if look:  # after the event: the model that moved the clock is not quiet
                self._evaluate_quiet()

    def _far_ahead(self, timestamp: float) -> bool:
        """Whether a prediction's time is too far ahead to believe (and is counted); a
        run of ``JUMP_CONFIRMATIONS`` of them is believed: the stream moved on."""
        assert self.clock is not None
        if timestamp <= self.clock + self._max_jump:
            return False
        now = time.time()
        if now - self._max_jump <= timestamp <= now + WALL_SKEW:
            return False  # a live stream back from a quiet weekend: the wall clock agrees
        self._ahead = [t for t in self._ahead if t > self.clock + self._max_jump]
        self._ahead.append(timestamp)
        if len(self._ahead) >= JUMP_CONFIRMATIONS:
            self._ahead = []
            return False
        self.clock_outliers += 1
        log.warning("a prediction stamped %.0f s ahead of the stream clock is taken at the "
                    "clock's time (%d so far)", timestamp - self.clock,
                    self.clock_outliers)  # fmt: skip
        return True

    def _advance(self, timestamp: float) -> bool:
        """Move the clock; whether to look for quiet models now. Not after a jump: a gap
        in the whole stream says nothing about any one model, so the look waits until
        the others have had ``_quiet_step`` of observed traffic to come back in."""
        jump = timestamp - (timestamp if self.clock is None else self.clock)
        self.clock = timestamp
        if jump >= self._quiet_step:
            self._quiet_check_at = timestamp + self._quiet_step
            return False
        return timestamp >= self._quiet_check_at

    def _evaluate_quiet(self) -> None:
        """Evaluate the models not evaluated for a while of stream time (a silent model
        has no event of its own to trigger it); look again when the next one is due."""
        clock = self.clock
        assert clock is not None
        due = float("inf")
        for model_id, monitor in self.monitors.items():
            last = monitor.last_prediction_time
            if last is None:
                continue
            quiet_since = max(last, monitor.evaluated_at)
            if clock - quiet_since >= monitor.quiet_after:
                self.evaluate(model_id)
                quiet_since = clock
            due = min(due, quiet_since + monitor.quiet_after)
        # A model that appears later is looked at within a step at most.
        self._quiet_check_at = min(due, clock + self._quiet_step)

    def evaluate(self, key: str) -> list[Alert]:
        """Evaluate a model (or a shard of one: it publishes its summary, and shard 0
        merges the shards' and goes on as the model)."""
        monitor = self.monitors[key]
        monitor.since_evaluation = 0
        monitor.alarm_raised = False
        self._changed.add(key)
        now = self.clock if self.clock is not None else 0.0
        monitor.evaluated_at = now
        for event_id, event_time, y in monitor.expire(now):
            self._orphan(monitor, event_id, event_time, y)
        model_id, shard = self._split(key)
        if shard is None:
            readings = monitor.readings(now)
        else:  # a shard's summary: the merge at shard 0 computes the rest
            readings = monitor.sequential_readings(now)
            merged = self._merge_shards(model_id, shard, monitor, readings, now)
            if merged is None:
                return []
            monitor, readings = merged
        self._readings.append((model_id, now, readings))
        # A challenger's shadow readings are kept and shown, never alerted on: it serves
        # no one yet (its trial decides on them, retrain/trial.py).
        ruled = readings if monitor.shadow is None else {
            k: v for k, v in readings.items() if not k.startswith(SHADOW_PREFIX)}  # fmt: skip
        alerts = self.engine.evaluate(model_id, ruled, now)
        for alert in alerts:
            alert.window = monitor.window_of(alert.metric)
            if alert.state == "firing":  # a new episode or a step worse: say why
                alert.evidence = monitor.evidence(alert.metric, readings)
        self.dispatcher.dispatch(alerts, {model_id: readings})
        resumed = self.engine.resumed(model_id, ruled, now)  # firing since before a restart
        for alert in resumed:
            alert.window = monitor.window_of(alert.metric)
        self.dispatcher.resume(resumed)
        return alerts

    def _merge_shards(
        self, model_id: str, shard: int, monitor: ModelMonitor, readings: Readings, now: float
    ) -> tuple[ModelMonitor, Readings] | None:
        """Publish a shard's summary; at shard 0, the model's monitor restored from the
        merge of every shard's latest summary and its readings (None elsewhere, or when
        the store is away: the next tick merges)."""
        token = uuid.uuid4().hex
        try:
            self.store.put_shard(model_id, shard, token, shard_summary(monitor, readings, token))
            if shard != 0:
                return None
            n = self._shards[model_id]
            latest = self.store.shard_summaries(model_id)
        except Exception as exc:
            log.warning("%s: shard %d's summary not exchanged (%s); merged at the next tick",
                        model_id, shard, exc)  # fmt: skip
            return None
        merger = self._mergers.get(model_id)
        if merger is None:
            merger = self._mergers[model_id] = ShardMerger(self.catalog.new_monitor(model_id))
        summaries = {k: latest[k] for k in range(n) if k in latest}
        return merger.monitor, merger.readings(summaries, now)

    def merge_stale(self) -> bool:
        """Merge again the sharded models (whose shard 0 is here) another shard of
        which published since the last merge; whether any was. For an idle stream:
        shard 0 has no tick of its own to merge the others' last summaries at."""
        merged = False
        for model_id, merger in self._mergers.items():
            key = shard_key(model_id, 0)
            if key not in self.monitors:
                continue
            try:
                tokens = self.store.shard_tokens(model_id)
            except Exception as exc:
                log.warning("%s: shard summaries unreadable (%s)", model_id, exc)
                continue
            n = self._shards[model_id]
            if {k: t for k, t in tokens.items() if k < n} != merger.tokens:
                self.evaluate(key)
                merged = True
        return merged

    def _forget(self, model_id: str) -> None:
        """Drop a monitor that holds nothing (made for an event that was then refused):
        a mis-keyed event must not leave an empty twin of a model in this partition,
        whose readings (0 events) would shadow the owner's."""
        del self.monitors[model_id]
        self._changed.discard(model_id)

    def evaluate_all(self) -> list[Alert]:
        """Every model with events (an empty monitor has nothing to say)."""
        keys = [k for k, m in self.monitors.items() if any(m.counts.values())]
        return self._evaluate_keys(keys)

    def evaluate_pending(self) -> list[Alert]:
        """Evaluate the models that saw events since their last evaluation (an idle stream)."""
        return self._evaluate_keys([k for k, m in self.monitors.items() if m.since_evaluation])

    def _evaluate_keys(self, keys: list[str]) -> list[Alert]:
        """Evaluate these monitors; a sharded model's shard 0 (when here) last and
        whenever another of its shards was, so the merge sees their new summaries."""
        merging = {model for model, shard in map(self._split, keys) if shard is not None}
        keys = [k for k in keys if self._split(k)[1] != 0]
        keys += [shard_key(m, 0) for m in sorted(merging) if shard_key(m, 0) in self.monitors]
        alerts = []
        for key in dict.fromkeys(keys):
            alerts.extend(self.evaluate(key))
        return alerts

    def _orphan(self, monitor: ModelMonitor, event_id: str, event_time: float, y: Any) -> None:
        label = monitor.encoder.label_value(y)
        raw = encode(
            Label(event_id=event_id, model_id=monitor.model_id, timestamp=event_time, label=label)
        )
        detail = (
            f"no prediction with this event_id arrived within the join TTL ({monitor.join.ttl:g}s)"
        )
        self.dead_letters.add(DeadLetter.of(raw, "orphan_label", detail, "join", None))

    # -- state ----------------------------------------------------------------------

    def checkpoint(self, offsets: dict[str, int] | None = None) -> None:
        """Dead letters out first, then state + readings + offsets in one transaction.

        Only the models that changed since the last checkpoint are written, so its
        cost follows the traffic, not the number of models.
        """
        self.dead_letters.flush()
        items: dict[str, Any] = {
            f"monitor:{model_id}": self.monitors[model_id].snapshot() for model_id in self._changed
        }
        items["rules"] = self.engine.snapshot()
        items["pipeline"] = {
            "clock": self.clock,
            "clock_outliers": self.clock_outliers,
            "processed": self.processed,
            "dead_letters": dict(self.dead_letters.counts),
            "models": sorted(self.monitors),
        }
        labeled = [
            (model_id, row)
            for model_id, monitor in self.monitors.items()
            for row in monitor.unsaved_training_rows()
        ]
        self.store.commit(items, self._readings, offsets, labeled)
        self._readings = []
        self._changed = set()
        for monitor in self.monitors.values():
            monitor.saved()

    def restore(self) -> bool:
        """Load the last checkpoint, if any. Returns whether one was found."""
        meta = self.store.load_state("pipeline")
        if meta is None:
            return False
        self.clock = meta["clock"]
        self.clock_outliers = meta.get("clock_outliers", 0)  # absent before 0.10
        self.processed = meta["processed"]
        self.dead_letters.counts.update(meta["dead_letters"])
        for model_id in [*self.monitors, *meta.get("models", [])]:
            state = self.store.load_state(f"monitor:{model_id}")
            if state is not None and self._split(model_id)[0] in self.config.models:
                monitor = self.monitor(model_id)
                monitor.restore(state)
                if not any(monitor.counts.values()):  # an empty twin (before 0.10): not kept
                    if not self.eager:
                        self._forget(model_id)
                    continue
                # Whether events came after its last evaluation is not in the snapshot:
                # evaluate at the next chance, so the readings catch up after a restart.
                monitor.since_evaluation = 1
        self.engine.restore(self.store.load_state("rules") or {})
        self._changed = set()
        return True

    def release(self) -> None:
        """This partition moves to another member (after its last checkpoint): its
        models' alerts are that member's to tell from now on."""
        self.dispatcher.hand_over(self.models())

    def event_counts(self) -> dict[str, Any]:
        return {
            "processed": self.processed,
            "predictions": sum(m.counts["predictions"] for m in self.monitors.values()),
            "labels": sum(m.counts["labels"] for m in self.monitors.values()),
            "dead_letters": self.dead_letters.total,
            "dead_letter_reasons": dict(self.dead_letters.counts),
            "clock_outliers": self.clock_outliers,
        }
