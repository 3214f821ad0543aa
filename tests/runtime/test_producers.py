"""The documented non-Python producers (docs/examples/producers): kcat from the shell and
Node.js (kafkajs, validating with Ajv against the shipped event JSON Schema) publish to a
real broker, and every record is a valid driftd event keyed by its model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import driftd_sdk
import pytest

from driftd.config.services import KafkaSpec, TopicsSpec
from driftd.consumers.kafka.clients import open_admin, open_consumer
from driftd.events import DeadLetter, EventDecoder

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "producers"
SCHEMA = Path(driftd_sdk.SCHEMA_FILE)


class _FromStart:
    def assigned(self, partitions):
        return dict.fromkeys(partitions)

    def revoked(self, partitions):
        pass


def _topics(kafka_service) -> tuple[KafkaSpec, TopicsSpec]:
    suffix = uuid.uuid4().hex[:8]
    topics = TopicsSpec(predictions=f"p-{suffix}", labels=f"l-{suffix}")
    spec = KafkaSpec(bootstrap_servers=kafka_service.address, group_id=f"prod-{suffix}")
    open_admin(spec).create_topics({topics.predictions: 3, topics.labels: 3}, 1)
    return spec, topics


def _records(spec: KafkaSpec, topics: TopicsSpec, expected: int) -> list:
    consumer = open_consumer(spec)
    consumer.subscribe([topics.predictions, topics.labels], _FromStart())
    records: list = []
    deadline = time.monotonic() + 120
    while len(records) < expected and time.monotonic() < deadline:
        records += consumer.poll(1000, 0.5)
    consumer.close()
    return records


def _assert_driftd_events(records: list, topics: TopicsSpec, source: Path) -> None:
    sent = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    assert len(records) == len(sent)
    decoder = EventDecoder()
    for record in records:
        event = decoder.decode(record.value)
        assert not isinstance(event, DeadLetter), event
        assert record.key == event.model_id.encode()
        kind = "prediction" if record.topic == topics.predictions else "label"
        assert event.__class__.__name__.lower() == kind
    assert sorted(json.loads(r.value)["event_id"] for r in records) == sorted(
        e["event_id"] for e in sent
    )


def test_kcat_publishes_the_documented_events(kafka_service):
    assert shutil.which("kcat"), "scripts/test.sh installs Debian's kcat"
    spec, topics = _topics(kafka_service)
    env = {**os.environ, "BROKERS": kafka_service.address,
           "PREDICTIONS_TOPIC": topics.predictions, "LABELS_TOPIC": topics.labels}  # fmt: skip
    subprocess.run(["bash", "kcat.sh", "events.jsonl"], cwd=EXAMPLES, env=env, check=True,
                   timeout=120)  # fmt: skip
    _assert_driftd_events(_records(spec, topics, 2), topics, EXAMPLES / "events.jsonl")


@pytest.fixture(scope="module")
def node_example(tmp_path_factory):
    """The Node example with its pinned packages installed (from the npm registry)."""
    where = tmp_path_factory.mktemp("node") / "node"
    shutil.copytree(EXAMPLES / "node", where)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                   cwd=where, check=True, timeout=600)  # fmt: skip
    return where


def test_node_validates_against_the_schema_then_publishes(kafka_service, node_example,
                                                          tmp_path):  # fmt: skip
    spec, topics = _topics(kafka_service)
    events = tmp_path / "events.jsonl"
    lines = (EXAMPLES / "events.jsonl").read_text().splitlines()
    events.write_text("\n".join(lines + [line.replace('"a1b2"', '"c3d4"') for line in lines]))
    command = ["node", "produce.mjs", "--brokers", kafka_service.address, "--schema",
               str(SCHEMA), "--predictions-topic", topics.predictions,
               "--labels-topic", topics.labels]  # fmt: skip
    done = subprocess.run([*command, str(events)], cwd=node_example, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "sent 2 predictions and 2 labels" in done.stdout
    _assert_driftd_events(_records(spec, topics, 4), topics, events)


def test_node_refuses_an_invalid_event_before_sending(kafka_service, node_example, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "label", "event_id": "x", "model_id": "m", '
                   '"timestamp": "2026-W47-1", "label": 1}\n')  # fmt: skip
    done = subprocess.run(["node", "produce.mjs", "--brokers", kafka_service.address,
                           "--schema", str(SCHEMA), str(bad)], cwd=node_example,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2
    assert f"{bad}:1: not a driftd event" in done.stderr and "/timestamp" in done.stderr
