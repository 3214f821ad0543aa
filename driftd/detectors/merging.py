"""Merging the state of one detector kept by several shards of a model.

A model with ``shards: N`` (docs/scaling.md) has N monitors, each fed the events
whose ``event_id`` hashes to it and each keeping windows of 1/N the configured size.
At a tick, the monitor of the whole model is the merge: each detector turns the
shards' snapshots into one snapshot of itself at the configured size
(:meth:`~driftd.detectors.base.Detector.merge`), which it then restores and reads as
usual, so the merged readings are computed by the same code as unsharded ones.

A detector's ``merge_plan`` says how each key of its snapshot merges:

- ``CONCAT``: a ring of window rows (a list, or packed numpy rows as bytes): the
  shards' rows side by side. The union of N
  windows of W/N rows is W rows, the last W/N of each shard, so every order-free
  statistic of the window (counts, rates, AUC, KS, quantiles) is that of those rows.
- ``MAX``: a time (the newest seen).
- ``{"*": how}``: a dict of such parts (a ring per feature), merged key by key.

Sums keyed by something a plan cannot name (tumbling windows by start, pending
predictions by minute) are merged by the detector's own ``merge()``.

Keys the plan leaves out are taken from the first shard: the state of sequential
tests, which do not merge (each shard runs its own, see
:func:`sequential_readings`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from driftd.detectors.readings import Readings

CONCAT, MAX = "concat", "max"
Plan = dict[str, Any]


def merge_states(states: list[Any], plan: Plan) -> Any:
    """One snapshot from the shards' snapshots of the same detector (see the module)."""
    out = dict(states[0])
    for key, how in plan.items():
        present = [state[key] for state in states if key in state]
        if not present:
            continue
        if isinstance(how, dict):
            keys = list(dict.fromkeys(k for part in present for k in part))
            out[key] = {k: _combine([p[k] for p in present if k in p], how["*"]) for k in keys}
        else:
            out[key] = _combine(present, how)
    return out


def _combine(values: list[Any], how: str) -> Any:
    if how == CONCAT:
        if isinstance(values[0], bytes):  # packed numpy rows (a shard's window)
            return b"".join(values)
        return [row for part in values for row in part]
    if how == MAX:
        present = [v for v in values if v is not None]
        return max(present) if present else None
    raise ValueError(f"unknown merge {how!r}")


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


# How a sequential test's reading combines over the shards, by the end of its name.
# The model's alarm is any shard's (each shard's tests run with the model's budget
# in its own events, so together they keep the model's rate of false alarms).
_SEQUENTIAL: list[tuple[re.Pattern[str], Callable[[list[float]], float]]] = [
    (re.compile(r"(\.alarms|_alarms|^concept\.detections)$"), sum),  # alarms so far
    (re.compile(r"(\.alarm|^concept\.drift)$"), max),  # an alarm held now
    (re.compile(r"(\.progress|_score)$"), max),  # how near its threshold a test is
    (re.compile(r"\.baseline$"), _mean),  # the in-control rate each learnt
    (re.compile(r"^(drift|prediction_drift)\..+\.(shift|scale)$"), max),  # held alarms
]


@lru_cache(maxsize=65536)
def _combiner(name: str) -> Callable[[list[float]], float] | None:
    """How a reading combines over shards when a sequential test's; None otherwise
    (a model's names are few and fixed: each is looked up once)."""
    for pattern, combine in _SEQUENTIAL:
        if pattern.search(name):
            return combine
    return None


def sequential_readings(shards: list[Readings]) -> Readings:
    """The readings of the shards' sequential tests, combined per name (the table
    above); a name none of the shards has a value for stays out."""
    names = dict.fromkeys(name for readings in shards for name in readings)
    out: Readings = {}
    for name in names:
        combine = _combiner(name)
        if combine is not None:
            values = [r[name] for r in shards if r.get(name) is not None]
            if values:
                out[name] = float(combine(values))  # type: ignore[arg-type]
    return out


def is_sequential(name: str) -> bool:
    """Whether a reading belongs to a sequential test (combined from the shards)."""
    return _combiner(name) is not None


def sequential(readings: Readings) -> Readings:
    """The readings of sequential tests among ``readings``."""
    return {k: v for k, v in readings.items() if is_sequential(k)}
