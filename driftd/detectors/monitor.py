"""Everything driftd watches for one model: encode, join, fan out, collect.

Per event the monitor encodes the event once (:mod:`.encode`), offers it to the
label join (:mod:`.join`) and queues it. Queued predictions, joined outcomes and
labels reach the registered detectors (:mod:`.registry`) as batches, in arrival
order, before anything reads a detector (an evaluation tick, a snapshot), so the
result equals feeding each event as it came. ``readings()`` collects every
detector's values under their declared names (:mod:`.readings`) for the rules and
the store; ``snapshot()`` every detector's state under its name.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

from driftd.detectors import readings as names
from driftd.detectors.base import (
    FEEDS,
    Detector,
    ExpiredBatch,
    LabelBatch,
    OutcomeBatch,
    PredictionBatch,
    RuleTemplate,
)
from driftd.detectors.context import ModelContext
from driftd.detectors.encode import Encoder, RejectedEvent
from driftd.detectors.evidence import Evidence, explain
from driftd.detectors.join import LabelJoin
from driftd.detectors.readings import Readings
from driftd.detectors.records import Outcome, WaitingPrediction
from driftd.detectors.registry import build_detectors, reading_names, rule_templates
from driftd.detectors.segments import SegmentDetector
from driftd.events import Label, Prediction

SHADOW_PREFIX = names.SHADOW_PREFIX  # the shadow lane's readings: "shadow.accuracy", ...
# Events queued for one batch, at most (runtime.decide_every): the sequential tests
# decide per batch, so this bounds how long an alarm waits for its tick.
FLUSH_AT = 128


class ModelMonitor:
    def __init__(self, context: ModelContext, detectors: list[Detector] | None = None,
                 flush_at: int = FLUSH_AT, lane: bool = False):  # fmt: skip
        """``lane``: this is a model's shadow lane (its predictions are all shadow ones)."""
        spec = context.spec
        self.lane = lane
        self.flush_at = flush_at
        self.context = context
        self.model_id = context.model_id
        self.spec = spec
        self.encoder = Encoder(context, keep_inputs=spec.retrain is not None)
        self.join = LabelJoin(float(spec.join.ttl), spec.join.max_pending, spec.join.remember)
        self.detectors = build_detectors(context) if detectors is None else detectors
        self._fed = {feed: [d for d in self.detectors if feed in d.feeds] for feed in FEEDS}
        self.counts = {"predictions": 0, "labels": 0}
        self.since_evaluation = 0
        # A sequential test raised an alarm since the last tick: evaluate now, not at the
        # next evaluate_every.
        self.alarm_raised = False
        # A model without predictions for ``quiet_after`` of stream time is evaluated
        # anyway (by the pipeline, as the clock moves on), so its silence is noticed.
        self.last_prediction_time: float | None = None
        self.evaluated_at = float("-inf")  # stream time of the last evaluation
        self.quiet_after = float(spec.quality.silence_after) / 4
        self._testing = [d for d in self.detectors if type(d).onsets is not Detector.onsets]
        self._segments = next((d for d in self.detectors if isinstance(d, SegmentDetector)),
                              None)  # fmt: skip
        # Joined (inputs, label) rows for the retraining worker, drained at each checkpoint.
        self.training_rows: list[dict[str, Any]] = []
        self._predictions: list[Prediction] = []
        self._records: list[WaitingPrediction] = []
        self._joined: list[bool] = []
        # Joins as (prediction, label, waited, label time), made Outcomes when fed: after
        # the batch's predictions, so the detectors' per-batch work on a prediction (its
        # segment codes) is in the outcome even when its label came first.
        self._joins: list[tuple[WaitingPrediction, float, bool, float]] = []
        self._labels: list[float] = []
        self._label_times: list[float] = []
        # A live shadow trial's lane: the challenger's shadow predictions (same event ids
        # as the champion's) with their own join and the same detectors; every label
        # goes to both. Made by the first shadow prediction, dropped once it is quiet.
        self.shadow: ModelMonitor | None = None

    # -- per event ----------------------------------------------------------------

    def on_prediction(self, event: Prediction) -> None:
        if event.shadow and not self.lane:
            if self.shadow is None:
                self.shadow = ModelMonitor(self.context, flush_at=self.flush_at, lane=True)
            self.shadow.on_prediction(event)  # the model's own cadence is untouched
            return
        record = self.encoder.prediction(event)
        try:
            label = self.join.add_prediction(event.event_id, event.timestamp, record)  # type: ignore[arg-type]
        except KeyError:
            raise RejectedEvent(
                "duplicate_event_id", f"prediction {event.event_id!r} seen before"
            ) from None
        self.counts["predictions"] += 1
        self.since_evaluation += 1
        if self.last_prediction_time is None or event.timestamp > self.last_prediction_time:
            self.last_prediction_time = event.timestamp  # type: ignore[assignment]
        self._predictions.append(event)
        self._records.append(record)
        self._joined.append(label is not None)
        if label is not None:
            self._joins.append((record, label, False, math.nan))
        if len(self._predictions) >= self.flush_at or len(self._joins) >= self.flush_at:
            self.flush()

    def on_label(self, event: Label) -> None:
        y = self.encoder.label(event)
        try:
            waiting = self.join.add_label(event.event_id, event.timestamp, y)  # type: ignore[arg-type]
        except KeyError:
            raise RejectedEvent(
                "duplicate_event_id", f"label {event.event_id!r} seen before"
            ) from None
        self.counts["labels"] += 1
        self.since_evaluation += 1
        self._labels.append(y)
        self._label_times.append(event.timestamp)  # type: ignore[arg-type]
        if waiting is not None:
            self._joins.append((waiting, y, True, event.timestamp))  # type: ignore[arg-type]
        if len(self._labels) >= self.flush_at or len(self._joins) >= self.flush_at:
            self.flush()
        if self.shadow is not None:
            with contextlib.suppress(RejectedEvent):  # its duplicate: this lane's to tell
                self.shadow.on_label(event)

    def flush(self) -> None:
        """Feed what is queued to the detectors: predictions, then outcomes, then labels."""
        before = sum(d.onsets() for d in self._testing)
        self._feed()
        if sum(d.onsets() for d in self._testing) > before:
            self.alarm_raised = True

    def _feed(self) -> None:
        if self._predictions:
            batch = PredictionBatch(self._predictions, self._records, self._joined, self.context)
            self._predictions, self._records, self._joined = [], [], []
            for detector in self._fed["predictions"]:
                detector.update_predictions(batch)
        if self._joins:
            outcomes = OutcomeBatch([Outcome.of(p, y, waited=w, label_time=t)
                                     for p, y, w, t in self._joins])  # fmt: skip
            self._joins = []
            for detector in self._fed["outcomes"]:
                detector.update_outcomes(outcomes)
            label_value = self.encoder.label_value
            self.training_rows.extend(
                o.training.row(label_value(o.y)) for o in outcomes.outcomes if o.training
            )
        if self._labels:
            labels = LabelBatch(self._labels, self._label_times)
            self._labels, self._label_times = [], []
            for detector in self._fed["labels"]:
                detector.update_labels(labels)

    def expire(self, now: float) -> list[tuple[str, float, float]]:
        """Expire waiting joins on the stream clock; returns orphan labels (the shadow
        lane's are not: most labels have no shadow prediction, outside a trial)."""
        self.flush()
        expired, orphans = self.join.expire(now)
        if expired:
            batch = ExpiredBatch(expired)
            for detector in self._fed["expired"]:
                detector.update_expired(batch)
        lane = self.shadow
        if lane is not None:
            lane.expire(now)
            last = lane.last_prediction_time
            quiet = last is None or last < now - lane.join.ttl
            if quiet and not lane.join.predictions and not lane.training_rows:
                self.shadow = None  # the trial is over: its lane goes
        return orphans

    def unsaved_training_rows(self) -> list[dict[str, Any]]:
        """Joined training rows not yet in the store, the shadow lane's too (marked
        ``"s"``); the checkpoint calls :meth:`saved` once they are stored."""
        self.flush()
        if self.shadow is None:
            return self.training_rows
        return [*self.training_rows, *self.shadow.unsaved_training_rows()]

    def saved(self) -> None:
        self.training_rows.clear()
        if self.shadow is not None:
            self.shadow.saved()

    # -- per tick -----------------------------------------------------------------

    def readings(self, now: float | None) -> Readings:
        self.flush()
        out: Readings = {names.event_count(k): float(v) for k, v in self.counts.items()}
        for detector in self.detectors:
            out.update(detector.readings(now))
        out.update(self.join.readings())
        if self.shadow is not None:  # the challenger's, beside the champion's
            out.update({f"{SHADOW_PREFIX}{k}": v for k, v in self.shadow.readings(now).items()})
        return names.plain(out)

    def sequential_readings(self, now: float | None) -> Readings:
        """What a shard publishes of its readings at a tick (:func:`.shards.summary`):
        its event counts, the join's and the sequential tests' readings, the values
        :meth:`readings` gives them, without the window statistics that the merge
        computes again on the whole model's state (most of a tick's work)."""
        self.flush()
        out: Readings = {names.event_count(k): float(v) for k, v in self.counts.items()}
        for detector in self.detectors:
            out.update(detector.sequential_readings(now))
        out.update(self.join.readings())
        if self.shadow is not None:
            out.update({f"{SHADOW_PREFIX}{k}": v
                        for k, v in self.shadow.sequential_readings(now).items()})  # fmt: skip
        return names.plain(out)

    def reading_names(self) -> list[str]:
        return reading_names(self.detectors)

    def rule_templates(self) -> list[RuleTemplate]:
        return rule_templates(self.detectors)

    def evidence(self, metric: str, readings: Readings) -> Evidence:
        """Why an alert on ``metric`` fired: its start, interval, segments or features."""
        self.flush()
        return explain(metric, readings, self.context.reference_performance,
                       self.spec.false_alarm_budget or "", self._segments)  # fmt: skip

    def window_of(self, metric: str) -> str:
        """In words, over what a reading is computed (shown in alerts)."""
        for detector in self.detectors:
            if any(names.may_match(metric, name) for name in detector.reading_names()):
                return detector.window
        return ""

    # -- state ----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        self.flush()
        state: dict[str, Any] = {d.name: d.snapshot() for d in self.detectors}
        state["join"] = self.join.snapshot()
        state["counts"] = dict(self.counts)
        state["last_prediction_time"] = self.last_prediction_time
        if self.shadow is not None:
            state["shadow"] = self.shadow.snapshot()
        return state

    def restore(self, state: dict[str, Any]) -> None:
        for detector in self.detectors:
            if detector.name in state:
                detector.restore(state[detector.name])
        if "join" in state:
            self.join.restore(state["join"])
        self.counts = dict(state.get("counts", self.counts))
        self.last_prediction_time = state.get("last_prediction_time")
        self.shadow = None
        if state.get("shadow") is not None:
            self.shadow = ModelMonitor(self.context, flush_at=self.flush_at, lane=True)
            self.shadow.restore(state["shadow"])
