"""Kafka and Redis for the benchmarks that need them, and a service config over them.

Both come from KAFKA_BOOTSTRAP / REDIS_URL when set, otherwise they are started
locally from tests/services (Kafka with the full JIT: benchmarks measure serving,
not start-up) and stopped at the end.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from services.local import LocalKafka, LocalRedis  # noqa: E402

from driftd.config import Config, load_config  # noqa: E402

CONFIG = """models:
{models}
runtime:
  state_dir: {state}
kafka:
  bootstrap_servers: "{bootstrap}"
  client: {client}
  group_id: {group}
  partitions: 3
  topics: {{predictions: bench-p-{suffix}, labels: bench-l-{suffix},
            dead_letters: bench-d-{suffix}, models: bench-m-{suffix}}}
redis:
  url: "{redis}"
  namespace: bench-{group}
notifiers: [jsonl]
http: {{port: 0}}
"""


@contextmanager
def kafka_and_redis() -> Iterator[tuple[str, str]]:
    """(bootstrap servers, Redis URL), started here unless the environment has them."""
    started: list[LocalKafka | LocalRedis] = []
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP")
    redis_url = os.environ.get("REDIS_URL")
    try:
        if not bootstrap:
            kafka = LocalKafka(fast_start=False).start()
            started.append(kafka)
            bootstrap = kafka.bootstrap
        if not redis_url:
            redis = LocalRedis().start()
            started.append(redis)
            redis_url = redis.url
        yield bootstrap, redis_url
    finally:
        for service in started:
            service.close()


def service_config(
    path: Path, models: str, bootstrap: str, redis_url: str, client: str, group: str, suffix: str
) -> Config:
    text = CONFIG.format(models=models, state=path.parent / "state", bootstrap=bootstrap,
                         client=client, group=group, suffix=suffix, redis=redis_url)  # fmt: skip
    path.write_text(text)
    return load_config(path)


def publish_backlog(config: Config, messages: list[tuple[str, str, bytes]]) -> None:
    """The stream's raw messages, keyed by model as the SDK keys them, onto the config's
    event topics; returns once Kafka acknowledged them all."""
    from driftd_sdk import Publisher

    topics = config.kafka.topics
    publisher = Publisher.kafka(config.kafka.bootstrap_servers, "confluent", topics,
                                max_buffer=len(messages))  # fmt: skip
    topic = {"predictions": topics.predictions, "labels": topics.labels}
    for kind, model, raw in messages:
        publisher._enqueue(topic[kind], model, raw)
    publisher.close(120)
