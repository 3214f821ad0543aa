"""The routing stage: input topics, any partitioning, re-keyed by model into the
repartition topics (see consumers/routing.py for why and for the guarantee).

One loop per process, in its own consumer group (``<group_id>-router``), so it scales
out like the monitoring stage. Per batch: poll, write each event to
``partition_for(model_id)`` of its repartition topic with its origin header, wait
for the broker's acknowledgement of all of it, then commit the input offsets. A
crash between the acknowledgement and the commit repeats the batch; the monitoring
stage drops the repeats by origin offset. A failed write (a broker away) is not
committed: the router closes its clients, waits and resumes from the group's
committed offsets.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from driftd.consumers.routing import destination, origin_header
from driftd.consumers.source import BufferFull, Producer, Record, Source, TopicPartition

log = logging.getLogger("driftd.router")


class Router:
    def __init__(
        self,
        open_clients: Callable[[], tuple[Source, Producer]],
        routes: dict[str, str],
        partitions: int,
        batch_size: int,
        stopping: threading.Event,
        ack_timeout: float = 30.0,
        poll_seconds: float = 0.02,
        prepare: Callable[[], object] | None = None,
        shards: dict[str, int] | None = None,
    ):
        """``open_clients()`` makes a fresh consumer (not yet subscribed) and producer;
        ``routes`` maps each input topic to its repartition topic, which has
        ``partitions`` partitions. ``poll_seconds``: how long one poll may wait.
        librdkafka's consume() returns when the batch is full or the time is up, so a
        long wait would hold a trickle of events that long (p50 276 ms at 500 events/s
        with 0.5 s) and a short one costs only idle wake-ups; kafka-python runs its group
        protocol inside poll and needs longer ones (with 20 ms, a busy machine never
        finished a rebalance). ``prepare()`` runs once before the first poll (setting
        the group's start offsets); it is retried like a connection for
        ``prepare_seconds``, then given up loudly (routing matters more). ``shards``:
        the sharded models' shard counts (their events are keyed ``model#k``)."""
        self.shards = shards or {}
        self.prepare = prepare
        self.prepare_seconds = 60.0
        self.poll_seconds = poll_seconds
        self.open_clients = open_clients
        self.routes = routes
        self.partitions = partitions
        self.batch_size = batch_size
        self.stopping = stopping
        self.ack_timeout = ack_timeout
        self.routed = 0
        self.unreadable = 0  # routed by content: no model_id to read
        self.failures = 0
        self.lag: dict[TopicPartition, int] = {}
        self._positions: dict[TopicPartition, int] = {}
        self._caught_up = False
        self._empty_polls = 0
        self._started = time.monotonic()
        self.settle_seconds = 20.0  # a member with no input partitions: idle after this

    def busy(self) -> bool:
        """True until a poll found nothing left on the input partitions it owns (a member
        owning none counts as caught up once ``settle_seconds`` have passed)."""
        return not self._caught_up

    def run(self) -> None:
        """Route until ``stopping`` is set; client failures are waited out, never fatal."""
        delay = 0.5
        while not self.stopping.is_set():
            try:
                self._prepare()
                source, producer = self.open_clients()
            except Exception as exc:
                log.warning("router: cannot connect (%s); retrying in %.1fs", exc, delay)
                self.stopping.wait(delay)
                delay = min(delay * 2, 10.0)
                continue
            try:
                source.subscribe(list(self.routes), None)
                log.info("router: routing %s by model into %d partitions",
                         ", ".join(self.routes), self.partitions)  # fmt: skip
                self._loop(source, producer)
                delay = 0.5
            except Exception as exc:
                self.failures += 1
                log.error("router: %s; reconnecting from the committed offsets in %.1fs",
                          exc, delay)  # fmt: skip
                self.stopping.wait(delay)
                delay = min(delay * 2, 10.0)
            finally:
                _close_quietly(source, producer)

    def _prepare(self) -> None:
        if self.prepare is None:
            return
        try:
            self.prepare()
        except Exception as exc:
            if time.monotonic() - self._started < self.prepare_seconds:
                raise
            log.error("router: giving up its preparation after %.0fs (%s); routing from the "
                      "group's offsets as they are", self.prepare_seconds, exc)  # fmt: skip
        self.prepare = None

    def _loop(self, source: Source, producer: Producer) -> None:
        while not self.stopping.is_set():
            records = source.poll(self.batch_size, self.poll_seconds)
            if records:
                self._forward(records, producer)
                offsets = {(r.topic, r.partition): r.offset + 1 for r in records}
                try:
                    source.commit(offsets)
                except Exception as exc:  # e.g. a rebalance took the partition meanwhile
                    log.warning("router: committing input offsets failed (%s); their "
                                "next reader repeats them, dropped downstream", exc)  # fmt: skip
                self._positions.update(offsets)
                self.routed += len(records)
                self._caught_up = False
            self._measure_lag(source)
            self._empty_polls = 0 if records else self._empty_polls + 1
            quiet = self._empty_polls * self.poll_seconds >= 1.0  # a second of nothing
            if quiet and self._empty_polls >= 2 and not any(self.lag.values()):
                owns = bool(source.assignment())
                settled = time.monotonic() - self._started >= self.settle_seconds
                self._caught_up = owns or settled

    def _forward(self, records: list[Record], producer: Producer) -> None:
        n = self.partitions
        for record in records:
            routing_key, partition = destination(record.value, n, self.shards)
            if routing_key is None:
                self.unreadable += 1
            origin = origin_header(record.topic, record.partition, record.offset)
            headers = [*record.headers, origin]
            key = None if routing_key is None else routing_key.encode()
            topic = self.routes[record.topic]
            while True:
                try:
                    producer.produce(topic, record.value, key, headers, partition)
                    break
                except BufferFull:
                    producer.flush(0.1)
        remaining = producer.flush(self.ack_timeout)
        if remaining or producer.failures:
            raise ConnectionError(f"{remaining} routed events unacknowledged and "
                                  f"{producer.failures} refused by the broker")  # fmt: skip

    def _measure_lag(self, source: Source) -> None:
        lag = {}
        for tp, high in source.high_watermarks().items():
            position = self._positions.get(tp, 0 if high == 0 else None)
            if position is not None:
                lag[tp] = max(0, high - position)
        self.lag = lag


def _close_quietly(source: Source, producer: Producer) -> None:
    for close in (source.close, producer.close):
        try:
            close()
        except Exception as exc:
            log.warning("router: closing a client: %s", exc)


def start_router(router: Router) -> threading.Thread:
    thread = threading.Thread(target=router.run, name="driftd-router", daemon=True)
    thread.start()
    return thread


def wait_stopped(thread: threading.Thread, timeout: float = 30.0) -> None:
    """Join the router's thread; it finishes its batch first (commits, leaves the group)."""
    deadline = time.monotonic() + timeout
    thread.join(max(0.0, deadline - time.monotonic()))
    if thread.is_alive():
        log.warning("router: still busy after %.0fs; leaving it (its input is repeated)", timeout)
