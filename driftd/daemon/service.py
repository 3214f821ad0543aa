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
import threading

import redis

from driftd.alerts.notify import Dispatcher
from driftd.config import Config, ConfigError
from driftd.consumers.kafka.client import open_admin, open_consumer, open_producer
from driftd.daemon.embedded import build_notifiers, retrain_listeners, state_dir
from driftd.daemon.gctune import tune_gc
from driftd.daemon.kafka_runtime import KafkaRuntime
from driftd.daemon.probe import BrokerProbe
from driftd.store.redis_store import RedisStore

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
    from driftd.logs import apply_config

    apply_config(config.runtime)
    if engine == "faust":
        ensure_topics(config, create=False)
        from driftd.daemon.faust_engine import run_faust

        return run_faust(config, quiet=quiet)
    # Handlers first: a SIGTERM while connecting still ends in a clean exit 0.
    started: list[KafkaRuntime] = []
    stopping = threading.Event()

    def stop(signum: int, _frame: object) -> None:
        log.warning(
            "received %s: finishing the batch, checkpointing, leaving the group",
            signal.Signals(signum).name,
        )
        stopping.set()
        for runtime in started:
            runtime.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    ensure_topics(config, create=False)
    runtime = build_kafka_runtime(config, quiet)
    started.append(runtime)
    if stopping.is_set():
        runtime.stop()
    log.info(
        "driftd run: group %s on %s (%s client), state in Redis namespace %s",
        config.kafka.group_id,
        config.kafka.bootstrap_servers,
        config.kafka.client,
        runtime.namespace,
    )
    server = probe = None
    if config.http.enabled:
        probe = BrokerProbe(config.kafka, config.kafka.topics.predictions).start()
        server = start_http(config, runtime, probe)
    tune_gc()
    try:
        runtime.run(idle_timeout=idle_timeout)
    finally:
        if server is not None:
            server.stop()
        if probe is not None:
            probe.stop()
    return 0


def start_http(config: Config, runtime: KafkaRuntime, probe: BrokerProbe):
    """The HTTP server of `driftd run`: Redis-backed views plus the consumer's own state."""
    from prometheus_client.core import GaugeMetricFamily

    from driftd.alerts.outbox import RedisOutbox
    from driftd.daemon.embedded import ALERT_FILE, registry_dir
    from driftd.daemon.http import Actions, StatusServer
    from driftd.daemon.state_view import StateView
    from driftd.retrain.registry import Registry

    client = runtime.partitions.redis
    view = StateView(config, redis_store(config, client), state_dir(config) / ALERT_FILE,
                     RedisOutbox(client, config.redis.namespace),
                     Registry(registry_dir(config)))  # fmt: skip

    def ready() -> dict[str, bool]:
        return {
            "broker_reachable": probe.reachable(),
            "partitions_assigned": bool(runtime.workers),
            "lag_under_bound": max(runtime.lag.values(), default=0) <= config.http.ready_max_lag,
            "not_paused_by_dead_letters": runtime.guard.paused_until is None,
        }

    def extra() -> list:
        consumed = GaugeMetricFamily("driftd_records_consumed", "Records polled by this member")
        consumed.add_metric([], runtime.records_seen)
        assigned = GaugeMetricFamily("driftd_partitions_assigned", "Partition numbers owned")
        assigned.add_metric([], len(runtime.workers))
        dead = GaugeMetricFamily("driftd_dead_letters", "Dead letters by reason",
                                 labels=["reason"])  # fmt: skip
        reasons: dict[str, int] = {}
        for worker in list(runtime.workers.values()):
            for reason, count in worker.pipeline.dead_letters.counts.items():
                reasons[reason] = reasons.get(reason, 0) + count
        for reason, count in reasons.items():
            dead.add_metric([reason], count)
        lag = GaugeMetricFamily("driftd_consumer_lag", "Messages behind the partition's end",
                                labels=["topic", "partition"])  # fmt: skip
        for (topic, partition), behind in sorted(runtime.lag.items()):
            lag.add_metric([topic, str(partition)], behind)
        reachable = GaugeMetricFamily("driftd_broker_reachable", "1 while the broker answers")
        reachable.add_metric([], float(probe.reachable()))
        out = [consumed, assigned, dead, lag, reachable]
        alerting = runtime.dispatcher.alerting
        if alerting is not None:
            delivery = GaugeMetricFamily("driftd_notifications", "Notification outcomes",
                                         labels=["receiver", "outcome"])  # fmt: skip
            for (receiver, outcome), count in alerting.worker.counts.items():
                delivery.add_metric([receiver, outcome], count)
            out.append(delivery)
        return out

    try:
        server = StatusServer(view, config.http.host, config.http.port, config.http.token_env,
                              ready, extra, Actions(view))  # fmt: skip
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


def redis_store(config: Config, client: redis.Redis | None = None) -> RedisStore:
    """A read view of the Redis store (readings history is per model, not per partition)."""
    return RedisStore(
        client or redis_client(config),
        f"{config.redis.namespace}:{config.kafka.group_id}",
        history=config.redis.history,
    )
