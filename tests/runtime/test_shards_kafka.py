"""A hot model over two `driftd run` processes (``shards: 2``, Kafka + Redis).

Each model's events are split by event_id into two shards, routed to two partitions,
monitored by whichever process owns each; the process holding shard 0 merges the
shards' summaries. The merged readings must equal the batch recomputation over all
of the model's events (scikit-learn, scipy, fairlearn; 1e-9), as unsharded ones do.
"""

from __future__ import annotations

import pytest
from runtime.harness import (
    Background,
    assert_equals_recomputation,
    final_readings,
    kill_mid_stream,
    publish,
)
from runtime.stream import MODELS, make_stream
from testdata import wait_until

from driftd.consumers.routing import shard_partition
from driftd.daemon.builders import redis_store

pytestmark = [pytest.mark.kafka, pytest.mark.redis, pytest.mark.slow]


def test_a_model_sharded_over_two_processes_reads_like_the_recomputation(
    make_setup, daemons
):
    setup = make_setup(partitions=2, shards=2)
    # Shard 0 and shard 1 of every model on different partitions, so with two members
    # (one partition each) every model is monitored by both processes.
    for model in MODELS:
        assert {shard_partition(model, k, 2, 2) for k in (0, 1)} == {0, 1}
    first = daemons(setup.config_path)
    second = daemons(setup.config_path)
    for daemon in (first, second):  # both in the group before the stream comes
        wait_until(lambda d=daemon: "assigned partitions" in d.log() or not d.alive(), 120,
                   "a daemon's first partition assignment")  # fmt: skip
        assert daemon.alive(), daemon.log()[-3000:]
    stream = make_stream(8_000, seed=21, label_lag=600)
    publish(setup, stream)
    readings = final_readings(setup, stream)
    assert_equals_recomputation(setup, stream, readings)
    store = redis_store(setup.config)
    for model in MODELS:
        summaries = store.shard_summaries(model)
        assert sorted(summaries) == [0, 1]
        counts = [s["readings"]["events.predictions"] for s in summaries.values()]
        assert min(counts) > 0 and sum(counts) == len(stream.predictions[model])
    assert first.terminate() == 0 and second.terminate() == 0


def test_a_sharded_model_under_kill_9_loses_nothing_and_counts_nothing_twice(
    make_setup, daemons
):
    """kill -9 mid-stream, twice, while the stream is published: each shard restarts from
    its checkpoint and publishes again; two processes then finish the stream. The merged
    readings still equal the recomputation (join.duplicates == 0 included)."""
    setup = make_setup(partitions=2, shards=2)
    stream = make_stream(12_000, seed=22, label_lag=600)
    producer = Background(publish, setup, stream, "confluent", 3000, 1.0)
    progress = kill_mid_stream(setup, daemons, 2, seed=5)
    producer.finish()
    first, second = daemons(setup.config_path), daemons(setup.config_path)
    readings = final_readings(setup, stream)
    assert_equals_recomputation(setup, stream, readings)
    assert sum(1 for p in progress if 0 < p < len(stream.messages)) >= 1, progress
    assert first.terminate() == 0 and second.terminate() == 0
