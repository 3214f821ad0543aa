"""Wiring for the long-lived service: ``driftd run`` and ``driftd topics create``.

The Kafka clients, the Redis connection, the partitions (claimed in Redis) and the
alert log, built from the config for either engine; the topics' checks; the HTTP
server of `driftd run`. daemon/lifecycle.py runs it until a signal.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import msgspec
import redis

from driftd.alerts.dispatch import Dispatcher
from driftd.config import Config, ConfigError
from driftd.config.services import KafkaSpec
from driftd.consumers.deadletter_topic import DeadLetterTopic
from driftd.consumers.guard import DeadLetterGuard
from driftd.consumers.kafka.clients import open_admin, open_consumer, open_producer
from driftd.consumers.kafka.probe import BrokerProbe
from driftd.consumers.router import Router
from driftd.consumers.routing import partition_for, repartition_topics
from driftd.consumers.source import Producer, Source, TopicPartition
from driftd.daemon.blas import one_blas_thread
from driftd.daemon.builders import (
    REDIS_RETRYABLE,
    announcer,
    build_view,
    client_id,
    log_receivers,
    redis_client,
    redis_store,
    request_queue,
    retrain_listeners,
)
from driftd.daemon.catalog import ModelCatalog
from driftd.daemon.driver import CheckpointPolicy, Driver
from driftd.daemon.partitions import PartitionSet, PartitionWorker
from driftd.daemon.paths import state_dir
from driftd.daemon.pipeline import Pipeline
from driftd.daemon.web.api import Actions
from driftd.daemon.web.metrics import consumer_metrics
from driftd.daemon.web.server import StatusServer
from driftd.store.redis_store import RedisStore

log = logging.getLogger("driftd.service")


def build_dispatcher(config: Config, client: redis.Redis, quiet: bool) -> Dispatcher:
    """The alert log, plus routed notifications through a Redis outbox when configured."""
    alerting = None
    if config.alerting.routes:
        from driftd.alerts.outbox import RedisOutbox
        from driftd.alerts.wiring import Alerting

        outbox = RedisOutbox(client, config.redis.namespace)
        history = redis_store(config, client).history
        alerting = Alerting(config.alerting, outbox, state_dir(config), history)
        alerting.start()
    return Dispatcher(log_receivers(config, quiet), alerting, retrain_listeners(config, True))


def routes(config: Config) -> dict[str, str]:
    """Each event topic -> the repartition topic the monitors read it from."""
    topics = config.kafka.topics
    return repartition_topics(config.kafka.group_id, topics.predictions, topics.labels)


def monitored_topics(config: Config) -> list[str]:
    """The topics the monitoring stage reads: predictions first, then labels."""
    topics = config.kafka.topics
    inputs = [topics.predictions, topics.labels]
    if not config.kafka.repartition:
        return inputs
    routed = routes(config)
    return [routed[name] for name in inputs]


def service_partitions(
    config: Config,
    producer: Producer,
    client: redis.Redis,
    dispatcher: Dispatcher,
    stopping: threading.Event,
    partition_count: int,
) -> PartitionSet:
    """Partition p of the monitored topics (``partition_count`` of them): claimed in
    Redis (fencing earlier owners), its checkpoint restored, dead letters to the
    dead-letter topic. Reading producers' own partitioning (no repartition), a pipeline
    refuses events of models that hash elsewhere."""
    one_blas_thread()  # before the catalog calibrates the sequential tests
    catalog = ModelCatalog(config)
    namespace = f"{config.redis.namespace}:{config.kafka.group_id}"
    routed = config.kafka.repartition

    def open_worker(number: int) -> PartitionWorker:
        store = RedisStore(client, namespace, number, config.redis.history)
        store.claim()
        owns = None if routed else (lambda model_id: partition_for(model_id, partition_count)
                                    == number)  # fmt: skip
        pipeline = Pipeline(config, store, dispatcher,
                            DeadLetterTopic(producer, config.kafka.topics.dead_letters),
                            catalog, eager=False, owns=owns)  # fmt: skip
        pipeline.restore()
        return PartitionWorker(number, pipeline, store, routed=routed)

    return PartitionSet(open_worker, REDIS_RETRYABLE, stopping, store_name="redis")


def build_router(
    config: Config, counts: dict[str, int], stopping: threading.Event
) -> Router | None:
    """The routing stage of `driftd run` (None with ``kafka.repartition`` off)."""
    if not config.kafka.repartition:
        return None
    spec = config.kafka
    router_spec = msgspec.structs.replace(spec, group_id=f"{spec.group_id}-router")
    routed = routes(config)

    def open_clients() -> tuple[Source, Producer]:
        return (open_consumer(router_spec, f"{client_id()}-router"),
                open_producer(spec, f"{client_id()}-router"))  # fmt: skip

    return Router(open_clients, routed, counts[routed[spec.topics.predictions]],
                  config.runtime.batch_size, stopping,
                  poll_seconds=0.5 if spec.client == "kafka-python" else 0.02,
                  prepare=lambda: carry_over_offsets(config, router_spec),
                  shards={m: s.shards for m, s in config.models.items()})  # fmt: skip


def carry_over_offsets(config: Config, router_spec: KafkaSpec) -> dict[TopicPartition, int]:
    """An upgrade from 0.9, whose monitors read the event topics as group ``group_id``:
    the router starts each event partition where that group left it (its state in Redis
    already counts what came before), not from ``start_from``, so nothing is counted
    twice. Only partitions the router's group has no offset for yet are set. Runs in the
    router's thread before its first poll, so a broker still loading its group
    coordinator is retried there, never fatal to the daemon."""
    spec = config.kafka
    inputs = [spec.topics.predictions, spec.topics.labels]
    admin = open_admin(spec)
    try:
        before = {(t, p): c for t, p, c, _ in admin.group_lag(spec.group_id, inputs) if c > 0}
        routed = {(t, p) for t, p, c, _ in admin.group_lag(router_spec.group_id, inputs) if c > 0}
    finally:
        admin.close()
    carried = {tp: offset for tp, offset in before.items() if tp not in routed}
    if carried:
        consumer = open_consumer(router_spec, f"{client_id()}-router-setup")
        try:
            consumer.commit(carried)
        finally:
            consumer.close()
        log.warning("the router starts %d event partitions where group %s left them (an "
                    "upgrade from reading the event topics directly)", len(carried),
                    spec.group_id)  # fmt: skip
    return carried


def build_kafka_runtime(
    config: Config,
    quiet: bool = False,
    counts: dict[str, int] | None = None,
    upstream_busy: Callable[[], bool] | None = None,
) -> Driver:
    """The service's driver: a consumer-group member over Redis-backed partitions.
    ``counts``: the topics' partition counts (``ensure_topics``), looked up if None;
    ``upstream_busy``: the router still has input (an idle exit waits for it)."""
    if counts is None:
        counts = ensure_topics(config, create=False)
    client = redis_client(config)
    producer = open_producer(config.kafka, client_id())
    dispatcher = build_dispatcher(config, client, quiet)
    stopping = threading.Event()
    runtime = config.runtime
    watched = monitored_topics(config)
    driver = Driver(
        open_consumer(config.kafka, client_id()),
        watched,
        service_partitions(config, producer, client, dispatcher, stopping, counts[watched[0]]),
        dispatcher,
        runtime.batch_size,
        CheckpointPolicy(every_seconds=float(runtime.checkpoint_interval)),
        guard=DeadLetterGuard(
            runtime.max_dead_letter_ratio,
            runtime.dead_letter_window,
            float(runtime.dead_letter_pause),
        ),
        stopping=stopping,
        on_close=producer.close,
        upstream_busy=upstream_busy,
    )
    return driver


def start_http(
    config: Config, runtime: Driver, probe: BrokerProbe, router: Router | None = None
) -> StatusServer:
    """The HTTP server of `driftd run`: Redis-backed views plus the consumer's own state."""
    view = build_view(config, use_redis=True)

    def ready() -> dict[str, bool]:
        guard = runtime.guard
        lag = [*runtime.lag.values(), *(router.lag.values() if router is not None else ())]
        return {
            "broker_reachable": probe.reachable(),
            "partitions_assigned": bool(runtime.workers),
            "lag_under_bound": max(lag, default=0) <= config.http.ready_max_lag,
            "not_paused_by_dead_letters": guard is None or guard.paused_until is None,
        }

    try:
        server = StatusServer(view, config.http.host, config.http.port, config.http.token_env,
                              ready, consumer_metrics(runtime, probe.reachable, router),
                              Actions(view, announcer(config, service=True),
                                      request_queue(config, True)),
                              config.http.allowed_hosts, runtime.owned_models)  # fmt: skip
    except OSError as exc:
        raise ConfigError("http.port", f"cannot listen on {config.http.host}:"
                          f"{config.http.port}: {exc.strerror}") from None  # fmt: skip
    return server.start()


def topic_partitions(config: Config) -> dict[str, int]:
    """What `driftd topics create` makes: the event topics, the dead-letter topic and (with
    repartition) the repartition topics with ``kafka.partitions`` each; models with one."""
    topics = config.kafka.topics
    n = config.kafka.partitions
    wanted = {topics.predictions: n, topics.labels: n, topics.dead_letters: n, topics.models: 1}
    if config.kafka.repartition:
        wanted.update(dict.fromkeys(routes(config).values(), n))
    return wanted


def ensure_topics(config: Config, create: bool) -> dict[str, int]:
    """Check the topics (creating them with ``create``) and return their partition counts.

    The repartition topics are driftd's own: created whenever missing. The monitored
    pair must be co-partitioned (a model's labels meet its predictions in one place).
    """
    admin = open_admin(config.kafka)
    try:
        wanted = topic_partitions(config)
        internal = {name: wanted[name] for name in monitored_topics(config)}
        making = wanted if create else internal if config.kafka.repartition else {}
        made = admin.create_topics(making, config.kafka.replication_factor) if making else []
        counts = {name: admin.partition_count(name) for name in wanted}
        deadline = time.monotonic() + 30
        # A topic just created can be missing from metadata for a moment: ask again.
        while any(counts[name] is None for name in made) and time.monotonic() < deadline:
            time.sleep(0.2)
            counts = {name: admin.partition_count(name) for name in wanted}
    finally:
        admin.close()
    topics = config.kafka.topics
    missing = [name for name in (topics.predictions, topics.labels) if counts[name] is None]
    if missing:
        raise ConfigError(
            "kafka.topics",
            f"topic(s) {', '.join(missing)} do not exist: run `driftd topics create --config ...`",
        )
    first, second = monitored_topics(config)
    if counts[first] != counts[second]:
        raise ConfigError(
            "kafka.topics",
            f"{first} has {counts[first]} partitions but {second} has {counts[second]}: they "
            "must match, or a model's labels would land on another partition than its "
            "predictions",
        )
    return {name: count for name, count in counts.items() if count is not None}
