"""An app following the models topic hot-swaps on a promotion made through the HTTP API,
and following the topic leaves no consumer group behind on the broker."""

from __future__ import annotations

import json
import time
import urllib.request

import numpy as np
import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from driftd_sdk import ModelClient
from sklearn.linear_model import LogisticRegression
from testdata import wait_until

from driftd.config import load_config
from driftd.daemon.builders import announcer, build_view
from driftd.daemon.paths import registry_dir
from driftd.daemon.service import ensure_topics
from driftd.daemon.web.api import Actions
from driftd.daemon.web.server import StatusServer
from driftd.retrain.registry import Registry

pytestmark = pytest.mark.kafka
TOKEN = "model-client-token-123"


def _groups(bootstrap: str) -> set[str]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    listed = admin.list_consumer_groups(request_timeout=10).result()
    return {group.group_id for group in listed.valid}


def _published(bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "driftd-unused"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        consumer.close()


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_an_api_promotion_reaches_apps_following_the_models_topic(
    tmp_path, kafka_service, monkeypatch, client, reference_csv
):
    suffix = f"{client}-{time.monotonic_ns()}"
    path = tmp_path / "driftd.yaml"
    path.write_text(
        f"""models:
  m:
    task: binary
    features: {{x: numeric, color: categorical}}
    reference: {reference_csv.name}
runtime: {{state_dir: state}}
kafka:
  bootstrap_servers: "{kafka_service.address}"
  client: {client}
  topics: {{predictions: p-{suffix}, labels: l-{suffix}, dead_letters: d-{suffix},
           models: models-{suffix}}}
"""
    )
    config = load_config(path)
    ensure_topics(config, create=True)
    registry = Registry(registry_dir(config))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    fitted = [LogisticRegression().fit(X, X[:, i] > 0) for i in range(2)]
    registry.promote("m", registry.register("m", fitted[0], {}))
    second = registry.register("m", fitted[1], {})
    groups_before = _groups(kafka_service.address)

    app = ModelClient(str(registry_dir(config)), "m")
    app.listen_kafka(kafka_service.address, config.kafka.topics.models, client)
    monkeypatch.setenv("DRIFTD_API_TOKEN", TOKEN)
    view = build_view(config, use_redis=False)
    actions = Actions(view, announcer(config, service=True))
    server = StatusServer(view, "127.0.0.1", 0, "DRIFTD_API_TOKEN", actions=actions).start()
    try:  # listen_kafka fixed the topic's end before it returned: what follows is heard
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.port}/api/models/m/promote",
            data=json.dumps({"version": second}).encode(), method="POST",
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.loads(response.read()) == {"model": "m", "champion": second,
                                                   "previous": 1}  # fmt: skip
        topic = config.kafka.topics.models
        try:
            wait_until(lambda: app.version == second, 120, "the app to swap to the new version")
        except AssertionError as exc:  # which side lost it: the announcement, or the app?
            raise AssertionError(f"{exc}; {topic} holds {_published(kafka_service.address, topic)}"
                                 " message(s)") from None  # fmt: skip
        assert app.swaps == 1
    finally:
        app.close()
        server.stop()
    audit = (registry_dir(config) / "m" / "events.jsonl").read_text().splitlines()
    assert [json.loads(line)["reason"] for line in audit] == ["promote"]
    assert _groups(kafka_service.address) == groups_before  # no group left behind


def test_an_app_starting_to_listen_catches_up_with_the_registry(tmp_path, kafka_service):
    """A promotion between loading the champion and following the topic was announced
    before the app listened: the registry has it, and listen_kafka reads it first."""
    registry = Registry(tmp_path / "registry")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 2))
    fitted = [LogisticRegression().fit(X, X[:, i] > 0) for i in range(2)]
    registry.promote("m", registry.register("m", fitted[0], {}))
    app = ModelClient(str(tmp_path / "registry"), "m")
    registry.promote("m", registry.register("m", fitted[1], {}))  # heard by no one
    try:
        app.listen_kafka(kafka_service.address, f"models-{time.monotonic_ns()}", "confluent")
        assert (app.version, app.swaps) == (2, 1)
    finally:
        app.close()
