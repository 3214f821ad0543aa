"""Joining labels to predictions by event_id, in either order, within a TTL.

Labels usually arrive after their prediction (hours or days later) but a replay
or a partitioned topic can deliver them first, so both sides wait: a prediction
for its label, a label for its prediction. Whatever waits longer than the TTL on
the stream clock expires (a waiting prediction just leaves; a waiting label
becomes an *orphan*: counted and dead-lettered). Recently joined ids are
remembered for one TTL so duplicates are recognised rather than double counted.

Memory is bounded by ``max_pending`` per side: past it the oldest entry is
expired early (and counted as such); and by ``remember`` for the joined ids (the
oldest are forgotten first: a duplicate older than that many joins is not seen),
kept as 64-bit digests in arrays (:mod:`.remembered`, 20 bytes an id).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from driftd.detectors import readings as names
from driftd.detectors.records import WaitingPrediction, waiting_from_state
from driftd.detectors.remembered import RememberedIds, digest

# 3: joined ids as digests (issue 17); 2: waiting predictions as records (0.8); none: lists
SNAPSHOT_FORMAT = 3


class LabelJoin:
    """Predictions wait for labels (as :class:`WaitingPrediction` records) and labels
    for predictions (as their encoded value), by event id."""

    def __init__(self, ttl: float, max_pending: int, remember: int = 100_000):
        self.ttl = ttl
        self.max_pending = max_pending
        self.remember = remember
        # event_id -> (event_time, record or label), in arrival order, oldest first.
        # Entries leave from the front, and a plain dict's first entry is found by
        # skipping every slot deleted before it (until the next resize), so the waiting
        # sides are OrderedDicts (small: what waits).
        self.predictions: OrderedDict[str, tuple[float, WaitingPrediction]] = OrderedDict()
        self.labels: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.joined = RememberedIds(remember)  # digests of joined ids, with the join time
        self.counts = {"matched": 0, "expired": 0, "orphans": 0, "duplicates": 0}

    def add_prediction(
        self, event_id: str, event_time: float, prediction: WaitingPrediction
    ) -> float | None:
        """Returns the label if it was already waiting; raises KeyError on a duplicate."""
        return self._add(self.predictions, self.labels, event_id, event_time, prediction)

    def add_label(self, event_id: str, event_time: float, label: float) -> WaitingPrediction | None:
        """Returns the waiting prediction, or None if the label must wait."""
        return self._add(self.labels, self.predictions, event_id, event_time, label)

    def _add(
        self,
        own: OrderedDict[str, tuple[float, Any]],
        other: OrderedDict[str, tuple[float, Any]],
        event_id: str,
        event_time: float,
        value: Any,
    ) -> Any | None:
        """One side arrives: match the other side's waiting entry, or wait for it."""
        key = digest(event_id)
        if event_id in own or key in self.joined:
            self.counts["duplicates"] += 1
            raise KeyError(event_id)
        waiting = other.pop(event_id, None)
        if waiting is not None:
            self.counts["matched"] += 1
            self.joined.add(key, event_time)
            return waiting[1]
        own[event_id] = (event_time, value)
        return None

    @staticmethod
    def _pop_old(
        entries: OrderedDict[str, tuple[float, Any]], cutoff: float, limit: int
    ) -> Iterator[tuple[str, float, Any]]:
        """Pop entries older than cutoff from the front, and any beyond the size limit."""
        while entries:
            event_id, (event_time, payload) = entries.popitem(last=False)
            if event_time >= cutoff and len(entries) < limit:
                entries[event_id] = (event_time, payload)
                entries.move_to_end(event_id, last=False)  # not due: back in front
                return
            yield event_id, event_time, payload

    def expire(
        self, now: float
    ) -> tuple[list[WaitingPrediction], list[tuple[str, float, float]]]:
        """Drop what waited past the TTL; returns (expired predictions, orphan labels)."""
        cutoff = now - self.ttl
        expired = [p for _, _, p in self._pop_old(self.predictions, cutoff, self.max_pending)]
        orphans = list(self._pop_old(self.labels, cutoff, self.max_pending))
        self.joined.forget_before(cutoff)
        self.counts["expired"] += len(expired)
        self.counts["orphans"] += len(orphans)
        return expired, orphans

    def readings(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {names.join(k): float(v) for k, v in self.counts.items()}
        out[names.join("waiting_predictions")] = float(len(self.predictions))
        out[names.join("waiting_labels")] = float(len(self.labels))
        return out

    def snapshot(self) -> dict[str, Any]:
        """Plain data for msgspec's JSON encoder (records encode as short arrays)."""
        return {
            "format": SNAPSHOT_FORMAT,
            "predictions": [[k, t, p] for k, (t, p) in self.predictions.items()],
            "labels": [[k, t, v] for k, (t, v) in self.labels.items()],
            "joined": self.joined.snapshot(),  # digests and times, base64 arrays
            "counts": dict(self.counts),
        }

    def restore(self, state: dict[str, Any]) -> None:
        legacy = state.get("format") != SNAPSHOT_FORMAT
        self.predictions = OrderedDict(
            (k, (t, waiting_from_state(p, legacy))) for k, t, p in state["predictions"]
        )
        self.labels = OrderedDict((k, (t, v)) for k, t, v in state["labels"])
        if isinstance(state.get("joined"), dict):
            self.joined = RememberedIds.restored(self.remember, state["joined"])
        elif "joined_ids" in state:  # 0.6 - 0.8: the ids themselves
            self.joined = RememberedIds.of_ids(
                self.remember, state["joined_ids"], state["joined_times"]
            )
        else:  # checkpoints written before 0.6.0
            pairs = state["joined"]
            self.joined = RememberedIds.of_ids(
                self.remember, [k for k, _ in pairs], [t for _, t in pairs]
            )
        self.counts = dict(state["counts"])
