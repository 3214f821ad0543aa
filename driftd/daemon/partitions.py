"""Partition-number ownership shared by both engines (the consumer loop and faust).

Both event topics are keyed by model_id and have the same partition count, and
partition *p* of both goes to one group member, so partition number *p* is the
unit of ownership: a :class:`PartitionWorker` holds its pipeline (the monitors of
the models that hash to *p*), its Redis store view and the next offset of each
topic. :class:`PartitionSet` opens workers (claiming the partition in Redis and
restoring its checkpoint), feeds them records and checkpoints them in the order
the guarantees need: dead letters acknowledged, then state + readings + offsets
in one Redis transaction per partition. The engine commits the returned offsets
to Kafka afterwards.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import redis

from driftd.alerts.notify import Dispatcher
from driftd.config import Config
from driftd.consumers.kafka.client import Producer, Record, TopicPartition
from driftd.consumers.kafka.deadletters import DeadLetterTopic
from driftd.daemon.catalog import ModelCatalog
from driftd.daemon.pipeline import Pipeline
from driftd.store.redis_store import Fenced, RedisStore

log = logging.getLogger("driftd.runtime")

RETRYABLE = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


class PartitionWorker:
    """Everything that belongs to partition number ``number`` of the event topics."""

    def __init__(self, number: int, pipeline: Pipeline, store: RedisStore):
        self.number = number
        self.pipeline = pipeline
        self.store = store
        self.next_offsets: dict[str, int] = store.load_offsets()
        self.unsaved = False

    def feed(self, records: list[Record]) -> int:
        """Process records of this partition; returns how many became dead letters.

        Records below the checkpointed offset were already counted (an engine that
        replays from Kafka's committed offsets, like faust, sends them again): skipped.
        """
        fresh = [r for r in records if r.offset >= self.next_offsets.get(r.topic, -1)]
        before = self.pipeline.dead_letters.total
        self.pipeline.process((r.value, f"{r.topic}:{r.partition}", r.offset) for r in fresh)
        for record in fresh:
            self.next_offsets[record.topic] = record.offset + 1
        self.unsaved = self.unsaved or bool(fresh)
        return self.pipeline.dead_letters.total - before


class PartitionSet:
    def __init__(
        self,
        config: Config,
        producer: Producer,
        redis_client: redis.Redis,
        dispatcher: Dispatcher,
        catalog: ModelCatalog | None = None,
        stopping: threading.Event | None = None,
    ):
        self.config = config
        self.producer = producer
        self.redis = redis_client
        self.dispatcher = dispatcher
        self.catalog = catalog or ModelCatalog(config)
        self.stopping = stopping or threading.Event()
        self.namespace = f"{config.redis.namespace}:{config.kafka.group_id}"
        self.workers: dict[int, PartitionWorker] = {}

    def open(self, numbers: set[int]) -> None:
        for number in sorted(numbers - set(self.workers)):
            self.workers[number] = self.retrying(lambda n=number: self._open_worker(n))

    def _open_worker(self, number: int) -> PartitionWorker:
        store = RedisStore(self.redis, self.namespace, number, self.config.redis.history)
        store.claim()
        pipeline = Pipeline(
            self.config,
            store,
            self.dispatcher,
            DeadLetterTopic(self.producer, self.config.kafka.topics.dead_letters),
            self.catalog,
            eager=False,
        )
        pipeline.restore()
        return PartitionWorker(number, pipeline, store)

    def close(self, numbers: set[int]) -> dict[TopicPartition, int]:
        """Checkpoint these partitions and let them go (they are moving to another member)."""
        offsets = self.checkpoint(numbers)
        for number in numbers:
            self.workers.pop(number, None)
        return offsets

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

    def checkpoint(self, numbers: set[int] | None = None) -> dict[TopicPartition, int]:
        """Checkpoint unsaved partitions; returns the offsets now safe to commit to Kafka."""
        committed: dict[TopicPartition, int] = {}
        for number in sorted(self.workers if numbers is None else numbers):
            worker = self.workers.get(number)
            if worker is None or not worker.unsaved:
                continue
            offsets = dict(worker.next_offsets)
            try:
                self.retrying(lambda w=worker, o=offsets: w.pipeline.checkpoint(o))
            except Fenced as exc:
                log.error("partition %d: %s; dropping it without writing", number, exc)
                self.workers.pop(number, None)
                continue
            worker.unsaved = False
            committed.update({(topic, number): o for topic, o in offsets.items()})
        return committed

    def retrying(self, action: Callable[[], Any]) -> Any:
        """Run a Redis action; while Redis is away, wait and retry (unless stopping)."""
        delay = 0.1
        while True:
            try:
                return action()
            except RETRYABLE as exc:
                if self.stopping.is_set():
                    raise
                log.warning("redis unavailable (%s); retrying in %.1fs", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
