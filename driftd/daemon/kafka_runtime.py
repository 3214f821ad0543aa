"""The Kafka runtime: a consumer-group member that drives one pipeline per partition.

Both event topics are keyed by model_id and have the same partition count, and
the range assignor gives partition *p* of both to one member, so partition
number *p* is the unit of ownership: a :class:`PartitionWorker` holds its
pipeline (the monitors of the models that hash to *p*), its view of the Redis
store and the next offset of each topic.

The loop, in order (the checkpoint order matters for the guarantees):

1. poll up to ``runtime.batch_size`` records and feed each partition's pipeline;
2. every ``runtime.checkpoint_interval`` (and whenever the stream goes idle):
   a. dead letters produced and acknowledged by the broker,
   b. state + readings + next offsets in one Redis transaction per partition,
   c. the same offsets committed to Kafka (for lag tools; Redis is the truth);
3. on assignment, seek each partition to the offsets stored in Redis; on
   revocation, checkpoint first, so the state moves with the partition.

A crash between (b) and (c) only leaves Kafka's committed offsets behind; a
crash before (b) leaves Redis at the previous checkpoint and its offsets, and the
records are consumed again: exactly-once for detector state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import redis

from driftd.alerts.model import Alert, dedup_key
from driftd.alerts.notify import Dispatcher
from driftd.config import Config
from driftd.consumers.guard import DeadLetterGuard
from driftd.consumers.kafka.client import Consumer, Producer, Record, TopicPartition
from driftd.consumers.kafka.deadletters import DeadLetterTopic
from driftd.daemon.catalog import ModelCatalog
from driftd.daemon.pipeline import Pipeline
from driftd.store.redis import Fenced, RedisStore

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
        """Process records of this partition; returns how many became dead letters."""
        before = self.pipeline.dead_letters.total
        self.pipeline.process((r.value, f"{r.topic}:{r.partition}", r.offset) for r in records)
        for record in records:
            self.next_offsets[record.topic] = record.offset + 1
        self.unsaved = True
        return self.pipeline.dead_letters.total - before


class KafkaRuntime:
    def __init__(
        self,
        config: Config,
        consumer: Consumer,
        producer: Producer,
        redis_client: redis.Redis,
        dispatcher: Dispatcher,
        catalog: ModelCatalog | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.config = config
        self.consumer = consumer
        self.producer = producer
        self.redis = redis_client
        self.dispatcher = dispatcher
        self.catalog = catalog or ModelCatalog(config)
        self.clock = clock
        self.topics = config.kafka.topics
        self.namespace = f"{config.redis.namespace}:{config.kafka.group_id}"
        self.workers: dict[int, PartitionWorker] = {}
        runtime = config.runtime
        self.guard = DeadLetterGuard(
            runtime.max_dead_letter_ratio,
            runtime.dead_letter_window,
            float(runtime.dead_letter_pause),
        )
        self.stop_event = threading.Event()
        self.records_seen = 0
        self._last_checkpoint = clock()

    # -- rebalance listener -----------------------------------------------------------

    def assigned(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int | None]:
        for number in sorted({p for _, p in partitions}):
            if number not in self.workers:
                self.workers[number] = self._retrying(lambda n=number: self._open_worker(n))
        log.info("assigned partitions %s", sorted({p for _, p in partitions}))
        return {(t, p): self.workers[p].next_offsets.get(t) for t, p in partitions}

    def revoked(self, partitions: list[TopicPartition]) -> None:
        numbers = sorted({p for _, p in partitions} & set(self.workers))
        log.info("revoked partitions %s: checkpointing them before they move", numbers)
        self.checkpoint(numbers)
        for number in numbers:
            self.workers.pop(number, None)

    def _open_worker(self, number: int) -> PartitionWorker:
        store = RedisStore(self.redis, self.namespace, number, self.config.redis.history)
        store.claim()
        pipeline = Pipeline(
            self.config,
            store,
            self.dispatcher,
            DeadLetterTopic(self.producer, self.topics.dead_letters),
            self.catalog,
            eager=False,
        )
        pipeline.restore()
        return PartitionWorker(number, pipeline, store)

    # -- loop -------------------------------------------------------------------------

    def run(self, idle_timeout: float | None = None) -> None:
        """Consume until ``stop()``; or, with ``idle_timeout``, until the stream is quiet."""
        self.consumer.subscribe([self.topics.predictions, self.topics.labels], self)
        runtime = self.config.runtime
        idle_since: float | None = None
        try:
            while not self.stop_event.is_set():
                now = self.clock()
                if self.guard.paused(now):
                    self.consumer.pause(self.consumer.assignment())
                    self.consumer.poll(1, 0.2)  # keeps group membership alive
                    continue
                self.consumer.resume(self.consumer.assignment())
                records = self.consumer.poll(runtime.batch_size, 0.5)
                if records:
                    idle_since = None
                    self._feed(records)
                    if self.clock() - self._last_checkpoint >= float(runtime.checkpoint_interval):
                        self.checkpoint()
                    continue
                if idle_since is None:
                    idle_since = self.clock()
                    self._evaluate_pending()
                    self.checkpoint()
                elif idle_timeout is not None and self.clock() - idle_since >= idle_timeout:
                    break
        finally:
            self.shutdown()

    def stop(self) -> None:
        self.stop_event.set()

    def shutdown(self) -> None:
        """Finish cleanly: evaluate, checkpoint, leave the group (partitions move at once)."""
        try:
            self._evaluate_pending()
            self.checkpoint()
        except Exception:
            log.exception("final checkpoint failed; the next owner resumes from the previous one")
        self.consumer.close()
        self.producer.close()

    def _feed(self, records: list[Record]) -> None:
        by_partition: dict[int, list[Record]] = defaultdict(list)
        for record in records:
            by_partition[record.partition].append(record)
        dead = 0
        for number, group in by_partition.items():
            worker = self.workers.get(number)
            if worker is None:  # revoked in this poll; its next owner reads them again
                continue
            dead += worker.feed(group)
        self.records_seen += len(records)
        self.guard.record(len(records), dead)
        if self.guard.should_trip():
            self._trip_guard()

    def _evaluate_pending(self) -> None:
        for worker in self.workers.values():
            if any(m.since_evaluation for m in worker.pipeline.monitors.values()):
                worker.pipeline.evaluate_pending()
                worker.unsaved = True

    def _trip_guard(self) -> None:
        ratio = self.guard.ratio
        self.guard.trip(self.clock())
        self.checkpoint()
        self.consumer.pause(self.consumer.assignment())
        log.error(
            "%.0f%% of the last %d messages were dead letters (limit %.0f%%): pausing "
            "consumption for %gs. Check the producers; the input waits in Kafka.",
            ratio * 100,
            self.guard.window,
            self.guard.max_ratio * 100,
            self.guard.pause_seconds,
        )
        now = time.time()
        self.dispatcher.dispatch(
            [
                Alert(
                    key=dedup_key("driftd", "dead_letter_ratio", "dead_letters.ratio"),
                    model="driftd",
                    rule="dead_letter_ratio",
                    metric="dead_letters.ratio",
                    state="firing",
                    severity="critical",
                    value=ratio,
                    op=">",
                    threshold=self.guard.max_ratio,
                    first_event_time=now,
                    event_time=now,
                    description="Most input is invalid (a bad deploy upstream?): "
                    "consumption paused so the stream is not drained into dead letters.",
                )
            ]
        )

    # -- checkpoints ------------------------------------------------------------------

    def checkpoint(self, numbers: list[int] | None = None) -> None:
        """Dead letters, then Redis (state + offsets), then Kafka, for unsaved partitions."""
        committed: dict[TopicPartition, int] = {}
        for number in list(self.workers if numbers is None else numbers):
            worker = self.workers.get(number)
            if worker is None or not worker.unsaved:
                continue
            offsets = dict(worker.next_offsets)
            try:
                self._retrying(lambda w=worker, o=offsets: w.pipeline.checkpoint(o))
            except Fenced as exc:
                log.error("partition %d: %s; dropping it without writing", number, exc)
                self.workers.pop(number, None)
                continue
            worker.unsaved = False
            committed.update({(topic, number): o for topic, o in offsets.items()})
        self._last_checkpoint = self.clock()
        if committed:
            try:
                self.consumer.commit(committed)
            except Exception as exc:  # Redis holds the truth; Kafka's copy catches up later
                log.warning("committing offsets to Kafka failed (will retry next time): %s", exc)

    def _retrying(self, action: Callable[[], Any]) -> Any:
        """Run a Redis action; while Redis is away, wait and retry (unless stopping)."""
        delay = 0.1
        while True:
            try:
                return action()
            except RETRYABLE as exc:
                if self.stop_event.is_set():
                    raise
                log.warning("redis unavailable (%s); retrying in %.1fs", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
