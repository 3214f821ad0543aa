"""Pick where the tests' Kafka and Redis come from, in a fixed order of preference.

1. ``KAFKA_BOOTSTRAP`` / ``REDIS_URL`` from the environment (a CI service, a laptop's broker);
2. testcontainers, when a Docker engine answers;
3. the local tooling in :mod:`services.local` (Kafka jars from Maven, Debian's redis-server).

Only servers started here (2 or 3) can be restarted by a test; a test that needs
that asks ``.restartable`` and skips otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from services.local import LocalKafka, LocalRedis


@dataclass
class Service:
    address: str  # bootstrap servers for Kafka, a redis:// URL for Redis
    origin: str
    stop: Callable[[bool], None] | None = None
    start: Callable[[], object] | None = None
    close: Callable[[], None] = field(default=lambda: None)

    @property
    def restartable(self) -> bool:
        return self.stop is not None and self.start is not None


def docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def provide_kafka() -> Service:
    if os.environ.get("KAFKA_BOOTSTRAP"):
        return Service(os.environ["KAFKA_BOOTSTRAP"], "environment")
    if docker_answers():
        from testcontainers.kafka import KafkaContainer

        container = KafkaContainer().with_kraft()
        container.start()
        return Service(
            container.get_bootstrap_server(),
            "testcontainers",
            close=container.stop,
        )
    kafka = LocalKafka().start()
    return _local(kafka, kafka.bootstrap)


def provide_redis() -> Service:
    if os.environ.get("REDIS_URL"):
        return Service(os.environ["REDIS_URL"], "environment")
    if docker_answers():
        from testcontainers.redis import RedisContainer

        container = RedisContainer()
        container.start()
        host = container.get_container_host_ip()
        port = container.get_exposed_port(6379)
        return Service(f"redis://{host}:{port}/0", "testcontainers", close=container.stop)
    redis = LocalRedis().start()
    return _local(redis, redis.url)


def _local(server: LocalKafka | LocalRedis, address: str) -> Service:
    return Service(address, "local", stop=server.stop, start=server.start, close=server.close)
