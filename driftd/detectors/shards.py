"""One hot model over several processes: ``shards: N`` (docs/scaling.md).

The events of a sharded model are split by a hash of their ``event_id``
(:func:`driftd.sharding.shard_of`), so a prediction and its label meet in
the same shard and the join stays local. Each shard is a monitor of its own
(:func:`shard_context`): its windows hold 1/N of the configured rows and its
sequential tests run with the model's false-alarm budget counted in the shard's own
events, so the N shards together keep the model's rate of false alarms.

At each of its ticks a shard publishes a :func:`summary` (its counts, its sequential
tests' readings, the window state of its mergeable detectors) through the store; the
process holding shard
0 merges the latest summary of every shard (:class:`ShardMerger`) into the readings
of the whole model, which its rules judge. Window statistics are exact over the
union of the shards' windows (see :mod:`.merging`); counts add up; a sequential
test's readings are combined over the shards (:func:`.merging.sequential_readings`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec

from driftd.budgets import DEFAULT_BUDGET, events_per_false_alarm, events_per_second
from driftd.config.models import ModelSpec
from driftd.detectors.context import ModelContext
from driftd.detectors.merging import is_sequential, sequential_readings
from driftd.detectors.monitor import ModelMonitor
from driftd.detectors.readings import Readings, plain
from driftd.detectors.registry import MONITOR_READINGS


def shard_spec(spec: ModelSpec, shards: int) -> ModelSpec:
    """A shard's spec: count windows, holds and join limits over N, the budget in the
    shard's events (the model's, ``1 per E events``: each shard sees 1/N of them).
    Its drift windows never reach ``min_samples``: their statistics against the
    reference (the costly part of a tick) are computed once, on the merge."""
    rate = None if spec.traffic is None else events_per_second(spec.traffic)
    events = events_per_false_alarm(spec.false_alarm_budget or DEFAULT_BUDGET, rate=rate)

    def part(value: int) -> int:
        return max(1, value // shards)

    def replace(struct: Any, **changes: Any) -> Any:
        return msgspec.structs.replace(struct, **changes)

    return replace(
        spec,
        windows=replace(spec.windows, size=part(spec.windows.size)),
        drift=replace(spec.drift, window=part(spec.drift.window),
                      min_samples=part(spec.drift.window) + 1),
        quality=replace(spec.quality, window=part(spec.quality.window)),
        performance=replace(spec.performance, hold=part(spec.performance.hold)),
        concept=replace(spec.concept, hold=part(spec.concept.hold)),
        join=replace(spec.join, max_pending=part(spec.join.max_pending),
                     remember=part(spec.join.remember)),
        false_alarm_budget=f"1 per {events:.0f} events", traffic=None,
    )  # fmt: skip


def shard_context(context: ModelContext, shards: int) -> ModelContext:
    """The model's context with the shard's spec (the reference and the slicer shared)."""
    sharded = dataclasses.replace(context, spec=shard_spec(context.spec, shards))
    sharded.__dict__["slicer"] = context.slicer  # its reference columns are gone by now
    return sharded


_MONITOR_READINGS = frozenset(MONITOR_READINGS)


def summary(monitor: ModelMonitor, readings: Readings, token: str = "") -> dict[str, Any]:
    """What a shard publishes at its tick, under ``token`` (unique to this publication):
    the readings the merge takes from the shards (its counts, its sequential tests') and
    the state of each detector that merges."""
    taken = {k: v for k, v in readings.items() if k in _MONITOR_READINGS or is_sequential(k)}
    states = {d.name: d.shard_state() for d in monitor.detectors if d.merges()}
    return {"token": token, "readings": taken, "states": states}


class ShardMerger:
    """The whole model's readings from its shards' summaries, in the process holding
    shard 0; ``monitor`` (at the configured sizes) is restored from the merge at each
    tick, so alerts take their evidence and window descriptions from it."""

    def __init__(self, monitor: ModelMonitor):
        self.monitor = monitor
        self.tokens: dict[int, str] = {}  # shard -> the token of the summary last merged

    def readings(self, by_shard: dict[int, dict[str, Any]], now: float | None) -> Readings:
        """The model's readings from the latest summary of each shard (by number)."""
        self.tokens = {k: s.get("token", "") for k, s in by_shard.items()}
        summaries = list(by_shard.values())
        shard_readings = [s["readings"] for s in summaries]
        out: Readings = {}
        for name in MONITOR_READINGS:  # event counts and the join's: sums
            values = [r[name] for r in shard_readings if r.get(name) is not None]
            if values:
                out[name] = float(sum(values))  # type: ignore[arg-type]
        restored = []
        for detector in self.monitor.detectors:
            states = [s["states"][detector.name] for s in summaries
                      if detector.name in s["states"]]  # fmt: skip
            merged = detector.merge(states) if states else None
            if merged is not None:
                detector.restore(merged)
                restored.append(detector)
        # Read once all are restored: the numeric features' statistics are computed
        # for all of them at once (detectors/numeric_columns.py), after the last change.
        for detector in restored:
            out.update({k: v for k, v in detector.readings(now).items()
                        if not is_sequential(k)})  # fmt: skip
        out.update(sequential_readings(shard_readings))
        return plain(out)


