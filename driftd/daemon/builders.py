"""The composition root's builders: objects made from the config, in one place.

Runtimes (embedded, service, faust), the HTTP server, the retraining worker and the
CLI get their parts here, so each part's wiring is written once: the alert log,
the listeners that turn alerts into retraining requests, Redis, the store views,
and the announcer of champion changes.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING

import redis

from driftd.alerts.dispatch import Listener
from driftd.alerts.receivers import Receiver, ReceiverContext
from driftd.alerts.receivers.registry import build_receiver
from driftd.config import Config
from driftd.config.alerting import ConsoleReceiver, JsonlReceiver
from driftd.daemon.paths import ALERT_FILE, OUTBOX_FILE, STORE_FILE, registry_dir, state_dir
from driftd.daemon.web.state_view import StateView
from driftd.retrain.announce import Announcer
from driftd.retrain.registry import ModelRegistry, Registry
from driftd.retrain.request_queue import RequestQueue, alert_triggers

if TYPE_CHECKING:
    from driftd.retrain.redis_queue import RedisRequestQueue
from driftd.store.redis_store import RedisStore

log = logging.getLogger("driftd.announce")

# Redis errors a runtime waits out (the server restarting, a network cut).
REDIS_RETRYABLE = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


def client_id() -> str:
    return f"driftd-{socket.gethostname()}-{os.getpid()}"


def log_receivers(config: Config, quiet: bool) -> list[Receiver]:
    """The alert log (``notifiers:``): every transition, ungrouped, as it happens."""
    context = ReceiverContext(state_dir(config))
    out: list[Receiver] = []
    for spec in config.notifiers:
        if spec.type == "console" and not quiet:  # type: ignore[union-attr]
            out.append(build_receiver("console", ConsoleReceiver(), context))
        elif spec.type == "jsonl":  # type: ignore[union-attr]
            path = spec.path or str(state_dir(config) / ALERT_FILE)  # type: ignore[union-attr]
            out.append(build_receiver("jsonl", JsonlReceiver(path=path), context))
    return out


def retrain_listeners(config: Config, service: bool = False) -> list[Listener]:
    """File a retraining request when an alert named in a model's triggers fires."""
    if not any(spec.retrain is not None for spec in config.models.values()):
        return []
    return [alert_triggers(config, request_queue(config, service))]


def request_queue(config: Config, service: bool) -> RequestQueue | RedisRequestQueue:
    """Retraining requests and per-model leases: in Redis for the service (workers on
    many hosts, leases with fencing tokens), else files in the registry directory."""
    if service:
        from driftd.retrain.redis_queue import RedisRequestQueue

        return RedisRequestQueue(redis_client(config), config.redis.namespace,
                                 float(config.redis.retrain_lease),
                                 RequestQueue(registry_dir(config)))  # fmt: skip
    return RequestQueue(registry_dir(config))


def redis_client(config: Config) -> redis.Redis:
    spec = config.redis
    return redis.Redis.from_url(
        spec.connection_url(),
        password=spec.password(),
        socket_timeout=10,
        socket_connect_timeout=5,
        health_check_interval=30,
    )


def redis_store(config: Config, client: redis.Redis | None = None) -> RedisStore:
    """A read view of the Redis store (readings history is per model, not per partition)."""
    return RedisStore(
        client or redis_client(config),
        f"{config.redis.namespace}:{config.kafka.group_id}",
        history=config.redis.history,
    )


def announcer(config: Config, service: bool) -> Announcer:
    """Champion changes to the registry's audit log and, for the service, the models topic."""
    if not service:
        return Announcer(registry_dir(config))
    from driftd.consumers.kafka.clients import open_producer

    producer = open_producer(config.kafka, "driftd-announce")
    topic = config.kafka.topics.models

    def publish(key: bytes, value: bytes) -> None:
        producer.produce(topic, value, key)
        if producer.flush(30):  # still queued: the producer keeps retrying in the background
            log.error("the announcement on %s is not delivered after 30 s: apps following "
                      "the topic hear of this champion late (or, if Kafka stays down, "
                      "only from the registry)", topic)  # fmt: skip

    return Announcer(registry_dir(config), publish)


def build_view(config: Config, use_redis: bool) -> StateView:
    """What the HTTP server and `driftd status` show: the service's Redis store, or the
    state directory an embedded run left behind."""
    from driftd.alerts.outbox import Outbox
    from driftd.store import Store

    directory = state_dir(config)
    store: Store
    outbox: Outbox
    if use_redis:
        from driftd.alerts.outbox import RedisOutbox

        client = redis_client(config)
        store, outbox = redis_store(config, client), RedisOutbox(client, config.redis.namespace)
    else:
        from driftd.alerts.outbox import SqliteOutbox
        from driftd.store.sqlite import SqliteStore

        directory.mkdir(parents=True, exist_ok=True)
        store = SqliteStore(directory / STORE_FILE)
        outbox = SqliteOutbox(directory / OUTBOX_FILE)
    return StateView(config, store, directory / ALERT_FILE, outbox,
                     model_registry(config))  # fmt: skip


def model_registry(config: Config, trusted_types: list[str] | None = None) -> ModelRegistry:
    """The registry of ``registry.kind``: driftd's directory or MLflow's model registry
    (whose run ledger, requests and announcements still live in the directory)."""
    if config.registry.kind == "mlflow":
        from driftd.retrain.mlflow_registry import MlflowRegistry

        spec = config.registry
        assert spec.tracking_uri is not None  # checked when the config was loaded
        return MlflowRegistry(spec.tracking_uri, registry_dir(config), trusted_types,
                              spec.registry_uri, spec.name_prefix,
                              spec.experiment_prefix)  # fmt: skip
    return Registry(registry_dir(config), trusted_types)
