"""`driftd run` on real Kafka and Redis: final metrics equal the batch recomputation."""

from __future__ import annotations

import pytest
from runtime.harness import assert_equals_recomputation, final_readings, publish
from runtime.stream import make_stream

from driftd.consumers.kafka.client import open_consumer

pytestmark = [pytest.mark.kafka, pytest.mark.redis]


class _Everything:
    def assigned(self, partitions):
        return dict.fromkeys(partitions)

    def revoked(self, partitions):
        pass


def test_sdk_stream_to_final_metrics_with_dead_letters(make_setup, daemons):
    setup = make_setup()
    stream = make_stream(55_000, seed=1, malformed_fraction=0.01)
    assert len(stream.messages) >= 100_000
    publish(setup, stream)
    daemon = daemons(setup.config_path)
    readings = final_readings(setup, stream)
    assert daemon.terminate() == 0, daemon.log()[-3000:]
    assert_equals_recomputation(setup, stream, readings)

    # Every malformed message is in the dead-letter topic with its reason and origin.
    config = setup.config
    consumer = open_consumer(
        config.kafka.__class__(
            bootstrap_servers=config.kafka.bootstrap_servers, group_id="dlq-reader"
        )
    )
    consumer.subscribe([config.kafka.topics.dead_letters], _Everything())
    letters = []
    for _ in range(60):
        letters += consumer.poll(5000, 0.5)
        if len(letters) >= stream.malformed:
            break
    consumer.close()
    assert len(letters) == stream.malformed
    headers = dict(letters[0].headers)
    assert headers["driftd.reason"] == b"malformed_json"
    assert headers["driftd.source.topic"] in (
        config.kafka.topics.predictions.encode(),
        config.kafka.topics.labels.encode(),
    )
    assert int(headers["driftd.source.offset"]) >= 0
    assert letters[0].value.startswith(b'{"type": "prediction", "event_id": "')
