"""Partition-number ownership, shared by the driver loop and the faust engine.

Both event topics are keyed by model_id and have the same partition count, and
partition *p* of both goes to one group member, so partition number *p* is the unit
of ownership: a :class:`PartitionWorker` holds its pipeline (the monitors of the
models that hash to *p*), its store and the next offset of each topic.
:class:`PartitionSet` opens workers (through the runtime's ``open_worker``: in the
service, claiming the partition in Redis and restoring its checkpoint), feeds them
records and checkpoints them in the order the guarantees need: dead letters first,
then state + readings + offsets in one store transaction per partition. The caller
commits the returned offsets to the source afterwards. A local source has one
partition, 0, and its worker keeps no offsets (local input is read once).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from driftd.consumers.routing import OriginMarks, parse_origin, topic_offsets
from driftd.consumers.source import Record, TopicPartition
from driftd.daemon.pipeline import Pipeline
from driftd.store import Fenced, Store

log = logging.getLogger("driftd.runtime")


class PartitionWorker:
    """Everything that belongs to partition number ``number`` of the event topics."""

    def __init__(
        self,
        number: int,
        pipeline: Pipeline,
        store: Store,
        track_offsets: bool = True,
        routed: bool = False,
    ):
        """``routed``: the records come from the repartition topics (consumers/routing.py):
        repeats are dropped by origin offset, and dead letters name the input topic."""
        self.number = number
        self.pipeline = pipeline
        self.store = store
        self.track_offsets = track_offsets
        stored = store.load_offsets() if track_offsets else {}
        self.next_offsets: dict[str, int] = topic_offsets(stored)
        self.origins = OriginMarks(stored) if routed else None
        self.repeats = 0  # routed twice (a router restarted mid-batch), dropped
        self.unsaved = False

    def feed(self, records: list[Record]) -> int:
        """Process records of this partition; returns how many became dead letters.

        Records below the checkpointed offset were already counted (an engine that
        replays from Kafka's committed offsets, like faust, sends them again): skipped.
        """
        if self.track_offsets:
            records = [r for r in records if r.offset >= self.next_offsets.get(r.topic, -1)]
        before = self.pipeline.dead_letters.total
        if self.origins is None:
            self.pipeline.process((r.value, r.source, r.offset) for r in records)
        else:
            self.pipeline.process(self._first_sight(records))
        if self.track_offsets:
            for record in records:
                self.next_offsets[record.topic] = record.offset + 1
        self.unsaved = self.unsaved or bool(records)
        return self.pipeline.dead_letters.total - before

    def _first_sight(self, records: list[Record]):
        """Routed records not seen before, as (bytes, input topic:partition, input offset)."""
        assert self.origins is not None
        is_new = self.origins.is_new
        for r in records:
            origin = parse_origin(r.headers)
            if origin is None:  # not written by a router: taken as it is
                yield r.value, r.source, r.offset
            elif is_new(*origin):
                yield r.value, origin[0], origin[1]
            else:
                self.repeats += 1

    def offsets(self) -> dict[str, int] | None:
        """What the checkpoint stores: next offsets, plus the origin marks when routed."""
        if not self.track_offsets:
            return None
        if self.origins is None:
            return dict(self.next_offsets)
        return {**self.next_offsets, **self.origins.marks}


class PartitionSet:
    def __init__(
        self,
        open_worker: Callable[[int], PartitionWorker],
        retryable: tuple[type[Exception], ...] = (),
        stopping: threading.Event | None = None,
        store_name: str = "store",
    ):
        """``open_worker(p)`` makes (and restores) partition p's worker; store errors in
        ``retryable`` are waited out (the store is away) unless ``stopping`` is set."""
        self.open_worker = open_worker
        self.retryable = retryable
        self.store_name = store_name
        self.stopping = stopping or threading.Event()
        self.workers: dict[int, PartitionWorker] = {}

    def open(self, numbers: set[int]) -> None:
        for number in sorted(numbers - set(self.workers)):
            self.workers[number] = self.retrying(lambda n=number: self.open_worker(n))

    def close(self, numbers: set[int]) -> dict[TopicPartition, int]:
        """Checkpoint these partitions and let them go (they are moving to another member)."""
        offsets = self.checkpoint(numbers)
        for number in numbers:
            self._drop(number)
        return offsets

    def _drop(self, number: int) -> None:
        worker = self.workers.pop(number, None)
        if worker is not None:
            worker.pipeline.release()

    def feed(self, records: list[Record]) -> int:
        """Route records to their partition's worker; returns the number of dead letters."""
        by_partition: dict[int, list[Record]] = defaultdict(list)
        for record in records:
            by_partition[record.partition].append(record)
        dead = 0
        for number, group in by_partition.items():
            worker = self.workers.get(number)
            if worker is None:  # revoked meanwhile; its next owner reads them again
                continue
            dead += worker.feed(group)
        return dead

    def evaluate_pending(self) -> None:
        for worker in self.workers.values():
            if any(m.since_evaluation for m in worker.pipeline.monitors.values()):
                worker.pipeline.evaluate_pending()
                worker.unsaved = True

    def merge_stale(self) -> bool:
        """Merge the sharded models another shard of which published since (idle
        streams); whether any was."""
        merged = False
        for worker in self.workers.values():
            if worker.pipeline.merge_stale():
                worker.unsaved = merged = True
        return merged

    def evaluate_all(self) -> None:
        for worker in self.workers.values():
            worker.pipeline.evaluate_all()
            worker.unsaved = True

    def checkpoint(self, numbers: set[int] | None = None) -> dict[TopicPartition, int]:
        """Checkpoint unsaved partitions; returns the offsets now safe to commit."""
        committed: dict[TopicPartition, int] = {}
        for number in sorted(self.workers if numbers is None else numbers):
            worker = self.workers.get(number)
            if worker is None or not worker.unsaved:
                continue
            offsets = worker.offsets()
            try:
                self.retrying(lambda w=worker, o=offsets: w.pipeline.checkpoint(o))
            except Fenced as exc:
                log.error("partition %d: %s; dropping it without writing", number, exc)
                self._drop(number)
                continue
            worker.unsaved = False
            committed.update({(topic, number): o
                              for topic, o in topic_offsets(offsets or {}).items()})  # fmt: skip
        return committed

    def retrying(self, action: Callable[[], Any]) -> Any:
        """Run a store action; while the store is away, wait and retry (unless stopping)."""
        delay = 0.1
        while True:
            try:
                return action()
            except self.retryable as exc:
                if self.stopping.is_set():
                    raise
                log.warning("%s unavailable (%s); retrying in %.1fs", self.store_name, exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
