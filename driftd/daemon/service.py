"""Wiring for the long-lived service: ``driftd run`` and ``driftd topics create``.

The Kafka clients, the Redis connection, the partitions (claimed in Redis) and the
alert log, built from the config for either engine; the topics' checks; the HTTP
server of `driftd run`. daemon/lifecycle.py runs it until a signal.
"""

from __future__ import annotations

import logging
import threading

import redis

from driftd.alerts.dispatch import Dispatcher
from driftd.config import Config, ConfigError
from driftd.consumers.deadletter_topic import DeadLetterTopic
from driftd.consumers.guard import DeadLetterGuard
from driftd.consumers.kafka.clients import open_admin, open_consumer, open_producer
from driftd.consumers.kafka.probe import BrokerProbe
from driftd.consumers.source import Producer
from driftd.daemon.builders import (
    REDIS_RETRYABLE,
    announcer,
    build_view,
    client_id,
    log_receivers,
    redis_client,
    redis_store,
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
    return Dispatcher(log_receivers(config, quiet), alerting, retrain_listeners(config))


def service_partitions(
    config: Config,
    producer: Producer,
    client: redis.Redis,
    dispatcher: Dispatcher,
    stopping: threading.Event,
) -> PartitionSet:
    """Partition p of the event topics: claimed in Redis (fencing earlier owners), its
    checkpoint restored, dead letters to the dead-letter topic."""
    catalog = ModelCatalog(config)
    namespace = f"{config.redis.namespace}:{config.kafka.group_id}"

    def open_worker(number: int) -> PartitionWorker:
        store = RedisStore(client, namespace, number, config.redis.history)
        store.claim()
        pipeline = Pipeline(config, store, dispatcher,
                            DeadLetterTopic(producer, config.kafka.topics.dead_letters),
                            catalog, eager=False)  # fmt: skip
        pipeline.restore()
        return PartitionWorker(number, pipeline, store)

    return PartitionSet(open_worker, REDIS_RETRYABLE, stopping, store_name="redis")


def build_kafka_runtime(config: Config, quiet: bool = False) -> Driver:
    """The service's driver: a consumer-group member over Redis-backed partitions."""
    client = redis_client(config)
    producer = open_producer(config.kafka, client_id())
    dispatcher = build_dispatcher(config, client, quiet)
    stopping = threading.Event()
    runtime = config.runtime
    topics = config.kafka.topics
    driver = Driver(
        open_consumer(config.kafka, client_id()),
        [topics.predictions, topics.labels],
        service_partitions(config, producer, client, dispatcher, stopping),
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
    )
    return driver


def start_http(config: Config, runtime: Driver, probe: BrokerProbe) -> StatusServer:
    """The HTTP server of `driftd run`: Redis-backed views plus the consumer's own state."""
    view = build_view(config, use_redis=True)

    def ready() -> dict[str, bool]:
        guard = runtime.guard
        return {
            "broker_reachable": probe.reachable(),
            "partitions_assigned": bool(runtime.workers),
            "lag_under_bound": max(runtime.lag.values(), default=0) <= config.http.ready_max_lag,
            "not_paused_by_dead_letters": guard is None or guard.paused_until is None,
        }

    try:
        server = StatusServer(view, config.http.host, config.http.port, config.http.token_env,
                              ready, consumer_metrics(runtime, probe.reachable),
                              Actions(view, announcer(config, service=True)),
                              config.http.allowed_hosts)  # fmt: skip
    except OSError as exc:
        raise ConfigError("http.port", f"cannot listen on {config.http.host}:"
                          f"{config.http.port}: {exc.strerror}") from None  # fmt: skip
    return server.start()


def topic_partitions(config: Config) -> dict[str, int]:
    """Both event topics need the same count (co-partitioning); the others need one."""
    topics = config.kafka.topics
    n = config.kafka.partitions
    return {topics.predictions: n, topics.labels: n, topics.dead_letters: n, topics.models: 1}


def ensure_topics(config: Config, create: bool) -> dict[str, int]:
    """Create missing topics (``create``) and check the event topics are co-partitioned."""
    admin = open_admin(config.kafka)
    try:
        wanted = topic_partitions(config)
        if create:
            admin.create_topics(wanted, config.kafka.replication_factor)
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
    if counts[topics.predictions] != counts[topics.labels]:
        raise ConfigError(
            "kafka.topics",
            f"{topics.predictions} has {counts[topics.predictions]} partitions but "
            f"{topics.labels} has {counts[topics.labels]}: they must match, or a model's "
            "labels would land on another partition than its predictions",
        )
    return {name: count for name, count in counts.items() if count is not None}
