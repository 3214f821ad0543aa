"""The one driver loop: a source's records through the partitions' pipelines, checkpointed.

The same loop runs the embedded runtime (a local source: the demo's in-process broker,
JSONL files, any messages) and the service (a Kafka consumer group member). In order
(the checkpoint order matters for the guarantees):

1. poll up to ``runtime.batch_size`` records and feed each partition's pipeline;
2. checkpoint, by the policy (every ``checkpoint_interval`` seconds for the service,
   every few batches for a local source, and whenever the stream goes idle):
   a. dead letters written (file) or produced and acknowledged (topic),
   b. state + readings + next offsets in one store transaction per partition,
   c. the same offsets committed to the source (Kafka: for lag tools; the store holds
      the truth);
3. on assignment, each partition starts from the offsets in its store; on
   revocation, it is checkpointed first, so its state moves with it.

A crash between (b) and (c) only leaves the source's committed offsets behind; a
crash before (b) leaves the store at the previous checkpoint and its offsets, and the
records are consumed again: exactly-once for detector state.

When most input becomes dead letters (a bad deploy upstream), the optional guard
(consumers/guard.py) pauses consumption and raises an alert. A finite source ends the
loop when it is used up (a batch job: every model evaluated, alert groups flushed, the
outbox drained for a while); a live one runs until ``stop()`` or, with
``idle_timeout``, until the stream has been quiet that long.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from driftd.alerts.dispatch import Dispatcher
from driftd.alerts.model import Alert, dedup_key
from driftd.consumers.guard import DeadLetterGuard
from driftd.consumers.source import Record, Source, TopicPartition
from driftd.daemon.gctune import release_free_memory
from driftd.daemon.partitions import PartitionSet

log = logging.getLogger("driftd.runtime")


@dataclass(frozen=True)
class CheckpointPolicy:
    """When the loop checkpoints besides idling and stopping: after ``every_batches``
    batches (deterministic: replays), or every ``every_seconds`` (the service)."""

    every_batches: int | None = None
    every_seconds: float | None = None


class Driver:
    def __init__(
        self,
        source: Source,
        topics: list[str],
        partitions: PartitionSet,
        dispatcher: Dispatcher,
        batch_size: int,
        policy: CheckpointPolicy,
        guard: DeadLetterGuard | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_batch: Callable[[int], None] | None = None,
        stopping: threading.Event | None = None,
        on_close: Callable[[], None] | None = None,
        upstream_busy: Callable[[], bool] | None = None,
    ):
        """``stopping`` is set by ``stop()`` (share it with the partition set, so store
        retries end too); ``on_close`` runs after the source is closed (a producer);
        ``upstream_busy()`` is True while a stage before this one (the router) still has
        input, which an idle exit waits for."""
        self.upstream_busy = upstream_busy
        self.source = source
        self.topics = topics
        self.partitions = partitions
        self.dispatcher = dispatcher
        self.batch_size = batch_size
        self.policy = policy
        self.guard = guard
        self.clock = clock
        self.on_batch = on_batch
        self.on_close = on_close
        self.stop_event = stopping or threading.Event()
        self.records_seen = 0
        self.lag: dict[TopicPartition, int] = {}  # messages behind, per owned partition
        self._lag_measured = 0.0
        self._guard_firing_since: float | None = None  # wall time the guard alert fired
        self._paused = False
        self._restored = False
        self._batches = 0
        self._last_checkpoint = clock()

    @property
    def workers(self):
        return self.partitions.workers

    def owned_models(self) -> set[str]:
        """The models of the partitions this member owns (read from any thread)."""
        return {model for worker in list(self.workers.values())
                for model in worker.pipeline.models()}  # fmt: skip

    # -- rebalance listener -----------------------------------------------------------

    def assigned(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int | None]:
        numbers = {p for _, p in partitions}
        self.partitions.open(numbers)
        # A partition restored here may hold events its last owner fed but never
        # evaluated (it moved at the end of a stream): evaluate at the next quiet poll,
        # even if this member was already idle (found by the two-daemon metrics test).
        self._restored = True
        log.info("assigned partitions %s", sorted(numbers))
        return {(t, p): self.workers[p].next_offsets.get(t) for t, p in partitions}

    def revoked(self, partitions: list[TopicPartition]) -> None:
        numbers = {p for _, p in partitions} & set(self.workers)
        log.info("revoked partitions %s: checkpointing them before they move", sorted(numbers))
        self._commit(self.partitions.close(numbers))

    # -- loop -------------------------------------------------------------------------

    def run(self, idle_timeout: float | None = None) -> None:
        """Consume until ``stop()``, the source's end, or ``idle_timeout`` of quiet."""
        self.source.subscribe(self.topics, self)
        idle_since: float | None = None
        finished = False
        try:
            while not self.stop_event.is_set():
                self._tick_alerting()
                if self._paused_by_guard():
                    continue
                records = self.source.poll(self.batch_size, 0.5)
                if records:
                    idle_since = None
                    self._feed(records)
                    self.measure_lag()
                    if self._checkpoint_due():
                        self.checkpoint()
                    continue
                if self.source.finished():
                    finished = True
                    break
                self.measure_lag(at_most_every=0.0 if idle_since is None else 1.0)
                if idle_since is None or self._restored:
                    idle_since = idle_since if idle_since is not None else self.clock()
                    self._restored = False
                    self.partitions.evaluate_pending()
                    self.checkpoint()
                elif self.partitions.merge_stale():  # another process's shard spoke
                    self.checkpoint()
                elif (
                    idle_timeout is not None
                    and self.clock() - idle_since >= idle_timeout
                    and (self.upstream_busy is None or not self.upstream_busy())
                ):
                    break
        finally:
            self.shutdown(batch_job=finished)

    def stop(self) -> None:
        self.stop_event.set()

    def _tick_alerting(self, flush_all: bool = False) -> None:
        if self.dispatcher.alerting is not None:
            self.dispatcher.alerting.tick(flush_all)

    def _paused_by_guard(self) -> bool:
        """While the guard holds consumption, keep polling (group membership) and process
        only partitions assigned since the pause; True while paused."""
        if self.guard is None:
            return False
        if self.guard.paused(self.clock()):
            self._paused = True
            self.source.pause(self.source.assignment())
            late = self.source.poll(self.batch_size, 0.2)
            if late:
                self.partitions.feed(late)
                self.records_seen += len(late)
            return True
        if self._paused:  # the pause is over
            self._paused = False
            self.source.resume(self.source.assignment())
        return False

    def _checkpoint_due(self) -> bool:
        policy = self.policy
        if policy.every_batches is not None and self._batches % policy.every_batches == 0:
            return True
        return (
            policy.every_seconds is not None
            and self.clock() - self._last_checkpoint >= policy.every_seconds
        )

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
        for (topic, partition), high in self.source.high_watermarks().items():
            worker = self.workers.get(partition)
            position = worker.next_offsets.get(topic) if worker is not None else None
            if position is None and high == 0:
                position = 0  # an empty partition: nothing to be behind on
            if position is not None:
                lag[(topic, partition)] = max(0, high - position)
        self.lag = lag

    def shutdown(self, batch_job: bool = False) -> None:
        """Finish cleanly: evaluate, checkpoint, close the source (partitions move at once).

        A batch job (a finite source used up) evaluates every model, flushes alert
        groups without waiting out their group_wait, and gives delivery a bounded time
        to drain the outbox (what is still unsent stays in it for the next run).
        """
        try:
            if batch_job:
                self.partitions.evaluate_all()
            else:
                self.partitions.evaluate_pending()
            self.checkpoint()
        except Exception:
            if batch_job:
                raise
            log.exception("final checkpoint failed; the next owner resumes from the previous one")
        self.source.close()
        if self.on_close is not None:
            self.on_close()
        alerting = self.dispatcher.alerting
        if alerting is not None:
            if batch_job:
                alerting.tick(flush_all=True)
            alerting.stop(drain_seconds=30.0 if batch_job else 10.0)

    def _feed(self, records: list[Record]) -> None:
        dead = self.partitions.feed(records)
        self.records_seen += len(records)
        self._batches += 1
        if self.on_batch is not None:
            self.on_batch(len(records))
        guard = self.guard
        if guard is None:
            return
        guard.record(len(records), dead)
        if guard.should_trip():
            self._trip_guard()
        elif self._guard_firing_since is not None and guard.full:
            # A whole window within the limit since the pause: the producers are fixed.
            self._guard_alert("resolved", guard.ratio)
            self._guard_firing_since = None

    def _trip_guard(self) -> None:
        guard = self.guard
        assert guard is not None
        ratio = guard.ratio
        guard.trip(self.clock())
        self.checkpoint()
        self.source.pause(self.source.assignment())
        log.error(
            "%.0f%% of the last %d messages were dead letters (limit %.0f%%): pausing "
            "consumption for %gs. Check the producers; the input waits in Kafka.",
            ratio * 100, guard.window, guard.max_ratio * 100, guard.pause_seconds,
        )  # fmt: skip
        if self._guard_firing_since is None:  # one firing notice per episode
            self._guard_firing_since = time.time()
            self._guard_alert("firing", ratio)

    def _guard_alert(self, state: Literal["firing", "resolved"], ratio: float) -> None:
        assert self.guard is not None
        now = time.time()
        self.dispatcher.dispatch([Alert(
            key=dedup_key("driftd", "dead_letter_ratio", "dead_letters.ratio"),
            model="driftd", rule="dead_letter_ratio", metric="dead_letters.ratio",
            state=state, severity="critical", value=ratio, op=">",
            threshold=self.guard.max_ratio, first_event_time=self._guard_firing_since or now,
            event_time=now,
            description="Most input is invalid (a bad deploy upstream?): "
            "consumption paused so the stream is not drained into dead letters.",
        )])  # fmt: skip

    # -- checkpoints ------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Dead letters, then the store (state + offsets), then the source, for unsaved
        partitions."""
        self._commit(self.partitions.checkpoint())
        self._last_checkpoint = self.clock()
        release_free_memory()  # what the batches since the last one freed

    def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        if not offsets:
            return
        try:
            self.source.commit(offsets)
        except Exception as exc:  # the store holds the truth; the source's copy catches up
            log.warning("committing offsets to Kafka failed (will retry next time): %s", exc)
