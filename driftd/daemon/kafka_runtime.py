"""The default engine: a consumer-group member driving one pipeline per partition.

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
from collections.abc import Callable
from typing import Literal

import redis

from driftd.alerts.model import Alert, dedup_key
from driftd.alerts.notify import Dispatcher
from driftd.config import Config
from driftd.consumers.guard import DeadLetterGuard
from driftd.consumers.kafka.client import Consumer, Producer, Record, TopicPartition
from driftd.daemon.catalog import ModelCatalog
from driftd.daemon.partitions import PartitionSet

log = logging.getLogger("driftd.runtime")


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
        self.dispatcher = dispatcher
        self.clock = clock
        self.topics = config.kafka.topics
        self.stop_event = threading.Event()
        self.partitions = PartitionSet(
            config, producer, redis_client, dispatcher, catalog, self.stop_event
        )
        self.namespace = self.partitions.namespace
        runtime = config.runtime
        self.guard = DeadLetterGuard(
            runtime.max_dead_letter_ratio,
            runtime.dead_letter_window,
            float(runtime.dead_letter_pause),
        )
        self.records_seen = 0
        self.lag: dict[TopicPartition, int] = {}  # messages behind, per owned partition
        self._lag_measured = 0.0
        self._guard_firing_since: float | None = None  # wall time the guard alert fired
        self._paused = False
        self._last_checkpoint = clock()

    @property
    def workers(self):
        return self.partitions.workers

    # -- rebalance listener -----------------------------------------------------------

    def assigned(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int | None]:
        numbers = {p for _, p in partitions}
        self.partitions.open(numbers)
        log.info("assigned partitions %s", sorted(numbers))
        return {(t, p): self.workers[p].next_offsets.get(t) for t, p in partitions}

    def revoked(self, partitions: list[TopicPartition]) -> None:
        numbers = {p for _, p in partitions} & set(self.workers)
        log.info("revoked partitions %s: checkpointing them before they move", sorted(numbers))
        self._commit(self.partitions.close(numbers))

    # -- loop -------------------------------------------------------------------------

    def run(self, idle_timeout: float | None = None) -> None:
        """Consume until ``stop()``; or, with ``idle_timeout``, until the stream is quiet."""
        self.consumer.subscribe([self.topics.predictions, self.topics.labels], self)
        runtime = self.config.runtime
        idle_since: float | None = None
        try:
            while not self.stop_event.is_set():
                if self.dispatcher.alerting is not None:
                    self.dispatcher.alerting.tick()
                now = self.clock()
                if self.guard.paused(now):
                    self._paused = True
                    self.consumer.pause(self.consumer.assignment())
                    # Polling keeps the group membership; a partition assigned since the
                    # pause may still deliver: process it rather than skip past it.
                    late = self.consumer.poll(runtime.batch_size, 0.2)
                    if late:
                        self.partitions.feed(late)
                        self.records_seen += len(late)
                    continue
                if self._paused:  # the pause is over
                    self._paused = False
                    self.consumer.resume(self.consumer.assignment())
                records = self.consumer.poll(runtime.batch_size, 0.5)
                if records:
                    idle_since = None
                    self._feed(records)
                    self.measure_lag()
                    if self.clock() - self._last_checkpoint >= float(runtime.checkpoint_interval):
                        self.checkpoint()
                    continue
                self.measure_lag(at_most_every=0.0 if idle_since is None else 1.0)
                if idle_since is None:
                    idle_since = self.clock()
                    self.partitions.evaluate_pending()
                    self.checkpoint()
                elif idle_timeout is not None and self.clock() - idle_since >= idle_timeout:
                    break
        finally:
            self.shutdown()

    def stop(self) -> None:
        self.stop_event.set()

    def measure_lag(self, at_most_every: float = 1.0) -> None:
        """End offsets (as of the last fetch) minus the next offset each pipeline needs.

        From the polling thread after feeding (at once when the stream goes idle, so a
        caught-up member reports 0); readers get a fresh dict.
        """
        now = self.clock()
        if now - self._lag_measured < at_most_every:
            return
        self._lag_measured = now
        lag = {}
        for (topic, partition), high in self.consumer.high_watermarks().items():
            worker = self.workers.get(partition)
            position = worker.next_offsets.get(topic) if worker is not None else None
            if position is None and high == 0:
                position = 0  # an empty partition: nothing to be behind on
            if position is not None:
                lag[(topic, partition)] = max(0, high - position)
        self.lag = lag

    def shutdown(self) -> None:
        """Finish cleanly: evaluate, checkpoint, leave the group (partitions move at once)."""
        try:
            self.partitions.evaluate_pending()
            self.checkpoint()
        except Exception:
            log.exception("final checkpoint failed; the next owner resumes from the previous one")
        self.consumer.close()
        self.producer.close()
        if self.dispatcher.alerting is not None:
            self.dispatcher.alerting.stop(drain_seconds=10.0)

    def _feed(self, records: list[Record]) -> None:
        dead = self.partitions.feed(records)
        self.records_seen += len(records)
        self.guard.record(len(records), dead)
        if self.guard.should_trip():
            self._trip_guard()
        elif self._guard_firing_since is not None and self.guard.full:
            # A whole window within the limit since the pause: the producers are fixed.
            self._guard_alert("resolved", self.guard.ratio)
            self._guard_firing_since = None

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
        if self._guard_firing_since is None:  # one firing notice per episode
            self._guard_firing_since = time.time()
            self._guard_alert("firing", ratio)

    def _guard_alert(self, state: Literal["firing", "resolved"], ratio: float) -> None:
        now = time.time()
        self.dispatcher.dispatch(
            [
                Alert(
                    key=dedup_key("driftd", "dead_letter_ratio", "dead_letters.ratio"),
                    model="driftd",
                    rule="dead_letter_ratio",
                    metric="dead_letters.ratio",
                    state=state,
                    severity="critical",
                    value=ratio,
                    op=">",
                    threshold=self.guard.max_ratio,
                    first_event_time=self._guard_firing_since or now,
                    event_time=now,
                    description="Most input is invalid (a bad deploy upstream?): "
                    "consumption paused so the stream is not drained into dead letters.",
                )
            ]
        )

    # -- checkpoints ------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Dead letters, then Redis (state + offsets), then Kafka, for unsaved partitions."""
        self._commit(self.partitions.checkpoint())
        self._last_checkpoint = self.clock()

    def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        if not offsets:
            return
        try:
            self.consumer.commit(offsets)
        except Exception as exc:  # Redis holds the truth; Kafka's copy catches up later
            log.warning("committing offsets to Kafka failed (will retry next time): %s", exc)
