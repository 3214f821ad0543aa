"""The faust engine: ``driftd run --engine faust`` drives the same pipelines from Faust agents.

For teams that already run Faust (faust-streaming) workers and want driftd's
monitors inside that model. Two agents, one per event topic, feed batches
(``take_events``) into the same :class:`~driftd.daemon.partitions.PartitionSet`
the driver loop uses (Faust's agents are the loop here), so state, Redis layout,
dead letters and readings are identical and either engine can take over from the
other.

Guarantee: Faust itself is at-least-once: it commits offsets of events its
agents have acknowledged, on an interval, and replays from those after a crash or a
rebalance. The agents take batches without acknowledging them (``noack_take``); every
``checkpoint_interval`` (and on revocation, and on the idle timer) the partitions
that changed are checkpointed to Redis (state + offsets, one transaction) and only
then are their events acknowledged, and records below a partition's
checkpointed offset are skipped; so detector state is still exactly-once, as in
the default engine, while Redis keeps its data. Differences: Faust decides where
to start (its committed offsets, which trail Redis's), blocking Redis calls run
on Faust's event loop (a long Redis outage delays heartbeats and can trigger a
rebalance), and the dead-letter ratio guard is the default engine's only.

Topics are never declared by Faust here (``topic_allow_declare=False``, no leader
topic): ``driftd topics create`` makes them with matching partition counts, and
the session timeout is short (``kafka.session_timeout``) so a dead worker's
partitions move quickly.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from driftd.alerts.dispatch import Dispatcher
from driftd.config import Config
from driftd.consumers.kafka.clients import open_producer
from driftd.consumers.router import start_router, wait_stopped
from driftd.consumers.source import Record
from driftd.daemon.builders import client_id, redis_client
from driftd.daemon.gctune import release_free_memory
from driftd.daemon.partitions import PartitionSet
from driftd.daemon.paths import state_dir
from driftd.daemon.service import (
    build_dispatcher,
    build_router,
    ensure_topics,
    monitored_topics,
    service_partitions,
)

log = logging.getLogger("driftd.faust")


def build_app(
    config: Config, partitions: PartitionSet, dispatcher: Dispatcher, counts: dict[str, int]
) -> Any:
    import faust

    spec = config.kafka
    runtime = config.runtime
    app = faust.App(
        spec.group_id,
        broker=[f"kafka://{server}" for server in spec.bootstrap_servers.split(",")],
        store="memory://",
        datadir=str(state_dir(config) / "faust"),  # not the working directory
        value_serializer="raw",
        key_serializer="raw",
        topic_partitions=spec.partitions,
        topic_allow_declare=False,
        topic_disable_leader=True,
        broker_session_timeout=spec.session_timeout,
        broker_heartbeat_interval=max(spec.session_timeout / 4, 0.5),
        broker_commit_interval=float(runtime.checkpoint_interval),
        consumer_auto_offset_reset=spec.start_from,
        # Events are acknowledged after their checkpoint (below), so Faust must not wait
        # for every event to be acknowledged before a rebalance or a stop: the revoked
        # handler and the final checkpoint write them to Redis, which holds the truth.
        stream_wait_empty=False,
        # Room for a whole batch per agent and per poll (Faust's defaults, 4096 buffered
        # and unbounded polls, starve a batch of 2000 from two topics).
        stream_buffer_maxsize=max(4 * runtime.batch_size, 4096),
        broker_max_poll_records=runtime.batch_size,
        web_enabled=False,
    )
    topics = [
        app.topic(name, value_serializer="raw", key_serializer="raw", partitions=counts[name])
        for name in monitored_topics(config)
    ]
    interval = float(runtime.checkpoint_interval)
    unacked = _Unacked()

    async def checkpoint() -> None:
        """Checkpoint what changed, then let Faust acknowledge (and later commit) it."""
        partitions.checkpoint()
        release_free_memory()  # what the batches since the last one freed
        await unacked.ack_all()

    async def consume(stream: Any) -> None:
        async for events in stream.noack_take(runtime.batch_size, within=interval):
            records = [
                Record(e.message.topic, e.message.partition, e.message.offset, e.value or b"",
                       None, _headers(e.message.headers))
                for e in events
            ]  # fmt: skip
            partitions.open({r.partition for r in records})
            partitions.feed(records)
            unacked.fed_at = time.monotonic()
            unacked.add(stream, events)
            if unacked.age() >= interval:
                await checkpoint()

    app.agent(topics[0], name="driftd-predictions")(consume)
    app.agent(topics[1], name="driftd-labels")(consume)

    @app.timer(interval=interval)
    async def evaluate_idle() -> None:
        # Only a quiet stream is evaluated here, as the driver loop does: while batches
        # flow, models are evaluated every ``evaluate_every`` of their events.
        if time.monotonic() - unacked.fed_at >= interval:
            partitions.evaluate_pending()
        await checkpoint()
        if dispatcher.alerting is not None:
            dispatcher.alerting.tick()

    @app.on_partitions_revoked.connect
    async def revoked(sender: Any, revoked: Any, **_: Any) -> None:
        numbers = {tp.partition for tp in revoked} & set(partitions.workers)
        log.info("revoked partitions %s: checkpointing them before they move", sorted(numbers))
        partitions.close(numbers)
        await checkpoint()

    @app.on_partitions_assigned.connect
    async def assigned(sender: Any, assigned: Any, **_: Any) -> None:
        numbers = {tp.partition for tp in assigned}
        partitions.open(numbers)
        log.info("assigned partitions %s", sorted(numbers))

    return app


class _Unacked:
    """Events fed to the pipelines but not yet checkpointed: Faust must not acknowledge
    (so must not commit) them before the checkpoint that holds their effect, which
    comes every ``checkpoint_interval``, not after every batch."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, Any]] = []
        self.since = time.monotonic()
        self.fed_at = float("-inf")  # when the last batch was fed

    def add(self, stream: Any, events: list[Any]) -> None:
        if not self.events:
            self.since = time.monotonic()
        self.events.extend((stream, event) for event in events)

    def age(self) -> float:
        return time.monotonic() - self.since if self.events else 0.0

    async def ack_all(self) -> None:
        events, self.events = self.events, []
        for stream, event in events:
            await stream.ack(event)


def _headers(headers: Any) -> list[tuple[str, bytes]]:
    """A Faust message's headers (a mapping or pairs, as the transport gave them)."""
    if not headers:
        return []
    pairs = headers.items() if hasattr(headers, "items") else headers
    return [(str(name), bytes(value or b"")) for name, value in pairs]


def run_faust(config: Config, quiet: bool = False) -> int:
    import faust

    counts = ensure_topics(config, create=False)
    producer = open_producer(config.kafka, client_id())
    client = redis_client(config)
    dispatcher = build_dispatcher(config, client, quiet)
    first = monitored_topics(config)[0]
    partitions = service_partitions(config, producer, client, dispatcher, threading.Event(),
                                    counts[first])  # fmt: skip
    app = build_app(config, partitions, dispatcher, counts)
    stopping = threading.Event()
    router = build_router(config, counts, stopping)
    routing = start_router(router) if router is not None else None
    # driftd's own logging (text or JSON, as --log-format says) stays in place.
    worker = faust.Worker(app, loglevel=logging.getLogger().level or logging.WARNING, quiet=True,
                          override_logging=False)

    code = 0
    try:
        worker.execute_from_commandline()  # until SIGTERM/SIGINT; raises SystemExit
    except SystemExit as exit:
        code = int(exit.code or 0)
    stopping.set()
    if routing is not None:
        wait_stopped(routing)
    # Every batch was checkpointed in its agent; what remains is the last evaluation.
    partitions.evaluate_pending()
    partitions.checkpoint()
    producer.close()
    if dispatcher.alerting is not None:
        dispatcher.alerting.stop(drain_seconds=10.0)
    return code
