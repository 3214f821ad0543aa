"""Wiring for the long-lived service: ``driftd run`` and ``driftd topics create``.

Builds the Kafka clients, the Redis connection and the notifiers from the config,
then runs an engine (the default consumer loop, or faust) until SIGTERM/SIGINT,
which stop polling, finish the batch, checkpoint, commit and leave the group.
"""

from __future__ import annotations

import logging
import os
import signal
import socket

import redis

from driftd.alerts.notify import Dispatcher
from driftd.config import Config, ConfigError
from driftd.consumers.kafka.client import open_admin, open_consumer, open_producer
from driftd.daemon.embedded import build_notifiers, retrain_listeners, state_dir
from driftd.daemon.kafka_runtime import KafkaRuntime
from driftd.store.redis import RedisStore

log = logging.getLogger("driftd.service")


def redis_client(config: Config) -> redis.Redis:
    spec = config.redis
    return redis.Redis.from_url(
        spec.connection_url(),
        password=spec.password(),
        socket_timeout=10,
        socket_connect_timeout=5,
        health_check_interval=30,
    )


def client_id() -> str:
    return f"driftd-{socket.gethostname()}-{os.getpid()}"


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
    return Dispatcher(build_notifiers(config, quiet), alerting, retrain_listeners(config))


def build_kafka_runtime(config: Config, quiet: bool = False) -> KafkaRuntime:
    client = redis_client(config)
    return KafkaRuntime(
        config,
        open_consumer(config.kafka, client_id()),
        open_producer(config.kafka, client_id()),
        client,
        build_dispatcher(config, client, quiet),
    )


def run_service(
    config: Config, engine: str = "kafka", idle_timeout: float | None = None, quiet: bool = False
) -> int:
    ensure_topics(config, create=False)
    if engine == "faust":
        from driftd.daemon.faust_engine import run_faust

        return run_faust(config, quiet=quiet)
    runtime = build_kafka_runtime(config, quiet)

    def stop(signum: int, _frame: object) -> None:
        log.warning(
            "received %s: finishing the batch, checkpointing, leaving the group",
            signal.Signals(signum).name,
        )
        runtime.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "driftd run: group %s on %s (%s client), state in Redis namespace %s",
        config.kafka.group_id,
        config.kafka.bootstrap_servers,
        config.kafka.client,
        runtime.namespace,
    )
    runtime.run(idle_timeout=idle_timeout)
    return 0


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


def redis_store(config: Config, client: redis.Redis | None = None) -> RedisStore:
    """A read view of the Redis store (readings history is per model, not per partition)."""
    return RedisStore(
        client or redis_client(config),
        f"{config.redis.namespace}:{config.kafka.group_id}",
        history=config.redis.history,
    )
