"""A hot model over shards (``shards: N``): the merged readings against the unsharded
monitor's on the same events, and the parts the merge is made of.

The oracle is the unsharded monitor itself, whose readings are tested against
scikit-learn, scipy and fairlearn elsewhere: while every window holds all the events
(a stream shorter than each shard's window), the union of the shards' windows is the
unsharded window, so every reading that is not a sequential test's must agree to 1e-9.
"""

from __future__ import annotations

import base64
import math

import msgspec
import numpy as np
import pytest

from bench.workload import events, model_yaml, write_reference
from driftd.budgets import events_per_false_alarm
from driftd.config import ConfigError, load_config
from driftd.consumers.routing import destination, partition_for, shard_partition
from driftd.daemon.catalog import ModelCatalog
from driftd.daemon.embedded import build_pipeline, run_messages
from driftd.detectors.merging import is_sequential, sequential_readings
from driftd.detectors.monitor import ModelMonitor
from driftd.detectors.shards import ShardMerger, shard_context, shard_spec, summary
from driftd.detectors.tumbling import _WindowStats
from driftd.events import EventDecoder, Label
from driftd.sharding import shard_key, shard_of, split_key

TOLERANCE = 1e-9


def _config(tmp_path, shards: int = 1, extra: str = ""):
    reference = write_reference(tmp_path / "reference.csv", n=2000)
    path = tmp_path / f"driftd-{shards}.yaml"
    path.write_text(
        "models:\n" + model_yaml("bench", reference) + f"    shards: {shards}\n{extra}"
        f"runtime:\n  evaluate_every: 250\n  state_dir: {tmp_path / f'state-{shards}'}\n"
        "notifiers: []\n"
    )
    return load_config(path)


def _feed(monitor: ModelMonitor, raw: bytes, decoder: EventDecoder) -> float:
    event = decoder.decode(raw, "test", 0)
    (monitor.on_label if isinstance(event, Label) else monitor.on_prediction)(event)
    return event.timestamp


def _segment_rows(monitor: ModelMonitor) -> list[tuple]:
    """The segment detector's labeled rows as (time, loss, positive, codes)."""
    state = next(d for d in monitor.detectors if d.name == "segments").snapshot()
    codes = np.frombuffer(base64.b64decode(state["codes"]), dtype=np.uint8)
    codes = codes.reshape(-1, state["width"])
    return [(t, loss, positive, row.tobytes()) for t, loss, positive, row
            in zip(state["time"], state["loss"], state["positive"], codes, strict=True)]


def _differences(expected: dict, merged: dict) -> list[tuple[str, object, object]]:
    """Readings that are not a sequential test's and differ beyond the tolerance."""
    out = []
    for name in sorted(set(expected) | set(merged)):
        if is_sequential(name):
            continue
        a, b = expected.get(name), merged.get(name)
        if a is None or b is None:
            if a is not b:
                out.append((name, a, b))
        elif not math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE):
            out.append((name, a, b))
    return out


@pytest.mark.parametrize("shards", [2, 3])
def test_merged_readings_equal_the_unsharded_monitor_while_windows_hold_everything(
    tmp_path, shards
):
    config = _config(tmp_path)
    catalog = ModelCatalog(config)
    context = catalog.contexts["bench"]
    whole = ModelMonitor(context)
    parts = [ModelMonitor(shard_context(context, shards)) for _ in range(shards)]
    decoder = EventDecoder({"bench"}, 1 << 20)
    # 900 predictions: the drift windows (2000, so 2000 // N a shard) and the
    # performance windows (1000, so 1000 // N) hold all of them; the concept change at
    # half the stream gives the rules something to read.
    for raw in events(900, label_lag=150):
        event_id = msgspec.json.decode(raw)["event_id"]
        _feed(parts[shard_of(event_id, shards)], raw, decoder)
        now = _feed(whole, raw, decoder)
    sizes = [p.counts["predictions"] for p in parts]
    assert sum(sizes) == 900 and min(sizes) > 0
    assert max(sizes) <= config.models["bench"].windows.size // shards  # all in the windows
    expected = whole.readings(now)
    merger = ShardMerger(ModelMonitor(context))
    merged = merger.readings({k: summary(p, p.readings(now)) for k, p in enumerate(parts)}, now)
    assert _differences(expected, merged) == []
    # The segments' window (alert evidence, no readings): the same rows, in time order.
    rows = [_segment_rows(m) for m in (whole, merger.monitor)]
    assert sorted(rows[0]) == rows[1] and len(rows[1]) == sum(sizes) - whole.join.readings()[
        "join.waiting_predictions"]
    # What the comparison covered: the window statistics of every detector family.
    for name in ("accuracy", "roc_auc", "drift.f0.ks_statistic", "drift.f0.wasserstein",
                 "drift.c0.jensenshannon", "fairness.group.demographic_parity_ratio",
                 "quality.f0.missing_rate", "latency_ms.p95", "events.predictions",
                 "join.matched", "estimated.pending", "label_drift.jensenshannon"):  # fmt: skip
        assert merged.get(name) is not None, name
    # Sequential tests: each shard's, combined (an alarm anywhere is the model's).
    shard_readings = [p.readings(now) for p in parts]
    assert merged["error_test.alarms"] == sum(r["error_test.alarms"] for r in shard_readings)
    assert merged["error_test.alarm"] == max(r["error_test.alarm"] for r in shard_readings)


def test_a_merge_that_keeps_a_shard_out_is_caught(tmp_path):
    """The comparison above fails when one shard's window is left out of the merge."""
    config = _config(tmp_path)
    catalog = ModelCatalog(config)
    context = catalog.contexts["bench"]
    whole, parts = ModelMonitor(context), [ModelMonitor(context) for _ in range(2)]
    decoder = EventDecoder({"bench"}, 1 << 20)
    for raw in events(600, label_lag=100):
        _feed(parts[shard_of(msgspec.json.decode(raw)["event_id"], 2)], raw, decoder)
        now = _feed(whole, raw, decoder)
    merged = ShardMerger(ModelMonitor(context)).readings({0: summary(parts[0], {})}, now)
    assert any(name == "accuracy" for name, _, _ in _differences(whole.readings(now), merged))


def test_sequential_readings_combine_by_what_they_mean():
    shards = [
        {"error_test.alarm": 0.0, "error_test.alarms": 2.0, "error_test.progress": 0.4,
         "error_test.baseline": 0.2, "drift.f0.shift": 0.0, "drift.f0.shift_score": 0.1,
         "concept.drift": 0.0, "concept.detections": 1.0, "accuracy": 0.9},
        {"error_test.alarm": 1.0, "error_test.alarms": 3.0, "error_test.progress": 0.7,
         "error_test.baseline": 0.3, "drift.f0.shift": 1.0, "drift.f0.shift_score": 0.8,
         "concept.drift": 1.0, "concept.detections": 0.0, "accuracy": 0.1},
    ]  # fmt: skip
    assert sequential_readings(shards) == {
        "error_test.alarm": 1.0, "error_test.alarms": 5.0, "error_test.progress": 0.7,
        "error_test.baseline": 0.25, "drift.f0.shift": 1.0, "drift.f0.shift_score": 0.8,
        "concept.drift": 1.0, "concept.detections": 1.0,
    }  # fmt: skip
    assert not is_sequential("accuracy") and not is_sequential("drift.f0.samples")


def test_a_tumbling_window_split_over_shards_adds_up_to_the_whole():
    """Counts add; the regression moments combine exactly (numpy's mean and variance
    of the union as the oracle)."""
    rng = np.random.default_rng(3)
    y = rng.normal(5, 2, 300)
    parts = [y[:120], y[120:]]
    stats = []
    for part in parts:
        s = _WindowStats("regression", 1, 10)
        mean = float(part.mean())
        s.reg = [len(part), 1.0, 2.0, mean, float(((part - mean) ** 2).sum())]
        s.cm[0, 0] = len(part)
        stats.append(s)
    stats[0].add(stats[1])
    n, abs_sum, sq_sum, mean, m2 = stats[0].reg
    assert (n, abs_sum, sq_sum) == (300, 2.0, 4.0)
    assert mean == pytest.approx(y.mean(), abs=TOLERANCE)
    assert m2 / n == pytest.approx(y.var(), rel=TOLERANCE)
    assert stats[0].cm[0, 0] == 300


def test_shards_meeting_groups_in_different_orders_merge_by_name(tmp_path):
    config = _config(tmp_path)
    context = ModelCatalog(config).contexts["bench"]
    detector = next(d for d in ModelMonitor(context).detectors if d.name == "fairness.group")
    merged = detector.merge([
        {"y": [1, 0], "y_hat": [1, 1], "group": [0, 1], "group_names": ["g1", "g2"],
         "selection": {}},
        {"y": [0, 1, 1], "y_hat": [0, 1, 0], "group": [0, 1, 1], "group_names": ["g2", "g1"],
         "selection": {}},
    ])  # fmt: skip
    names = merged["group_names"]
    by_group = [names[c] for c in merged["group"]]
    assert by_group == ["g1", "g2", "g2", "g1", "g1"]
    assert merged["y"] == [1, 0, 0, 1, 1] and merged["y_hat"] == [1, 1, 0, 1, 0]


def test_a_shard_spec_divides_the_windows_and_keeps_the_model_budget(tmp_path):
    spec = _config(tmp_path, extra="    false_alarm_budget: 1 per 30d\n"
                   "    traffic: 100k per day\n").models["bench"]  # fmt: skip
    part = shard_spec(spec, 4)
    assert (part.windows.size, part.drift.window, part.quality.window) == (250, 500, 250)
    assert part.join.remember == spec.join.remember // 4
    assert part.drift.min_samples > part.drift.window  # the merge computes the statistics
    # Each shard sees a quarter of the events: one false alarm per 3M of its own events
    # is one per 3M model events for the four together, the model's budget.
    assert part.traffic is None
    assert events_per_false_alarm(part.false_alarm_budget) == pytest.approx(3e6)


@pytest.mark.parametrize(
    ("extra", "key", "problem"),
    [
        ("    shards: 0\n", "shards", "between 1 and 64"),
        ("    shards: 65\n", "shards", "between 1 and 64"),
        ("    shards: 4\n    windows: {size: 6}\n", "windows.size", "too small for 4 shards"),
        ("    shards: 2\nkafka: {repartition: false}\n", "shards", "routing stage"),
        ("    shards: 2\n    retrain:\n      estimator: sklearn.linear_model.LogisticRegression\n",
         "shards", "cannot have a retrain section"),
    ],
)
def test_bad_shard_settings_name_the_key(tmp_path, extra, key, problem):
    reference = write_reference(tmp_path / "reference.csv", n=200)
    path = tmp_path / "driftd.yaml"
    path.write_text("models:\n" + model_yaml("bench", reference) + extra)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.path == f"models.bench.{key}" and problem in str(caught.value)


def test_the_router_keys_a_sharded_models_events_by_shard():
    shards = {"hot": 4, "calm": 1}
    seen = set()
    for i in range(200):
        raw = msgspec.json.encode({"model_id": "hot", "event_id": f"e{i}"})
        key, partition = destination(raw, 6, shards)
        shard = shard_of(f"e{i}", 4)
        assert key == shard_key("hot", shard)
        assert partition == (partition_for("hot", 6) + [0, 1, 3, 4][shard]) % 6
        seen.add((key, partition))
    assert len(seen) == 4 and len({p for _, p in seen}) == 4  # a partition each
    calm = msgspec.json.encode({"model_id": "calm", "event_id": "e1"})
    assert destination(calm, 6, shards) == ("calm", partition_for("calm", 6))
    # A non-text event id cannot be sharded: it goes with the model (a dead letter there).
    odd = msgspec.json.encode({"model_id": "hot", "event_id": 7})
    assert destination(odd, 6, shards) == ("hot", partition_for("hot", 6))
    assert split_key("hot#3", shards) == ("hot", 3)
    # Two shards over six partitions: half the ring apart, so two members of a range
    # assignment (partitions 0-2 and 3-5) each own one, whatever the model's partition.
    for model in ("a", "b", "c", "d", "e", "f"):
        first, second = (shard_partition(model, k, 2, 6) for k in (0, 1))
        assert (first < 3) != (second < 3)
    assert split_key("calm", shards) == ("calm", None)
    assert split_key("calm#1", shards) == ("calm#1", None)  # a model's own name


def test_replay_of_a_sharded_model_reads_like_the_unsharded_one(tmp_path):
    """``driftd replay``'s path: shard monitors, summaries through the store, the merge
    at shard 0's tick, readings and alerts under the model's id."""
    stream = events(900, label_lag=150)
    results = {}
    for shards in (1, 2):
        pipeline = build_pipeline(_config(tmp_path, shards))
        run_messages(pipeline, [(raw, "test", i) for i, raw in enumerate(stream)])
        latest = pipeline.store.latest_readings("bench")
        assert latest is not None
        results[shards] = latest[1]
        if shards == 2:
            assert sorted(pipeline.monitors) == ["bench#0", "bench#1"]
            assert pipeline.models() == {"bench"}
            assert sorted(pipeline.store.shard_summaries("bench")) == [0, 1]
            assert pipeline.store.latest_readings("bench#0") is None  # no per-shard rows
    assert results[2]["events.predictions"] == 900
    assert _differences(results[1], results[2]) == []


def test_shard_zero_merges_again_when_another_process_shard_publishes_later(tmp_path):
    """Two processes, one shard each, one store: the one holding shard 0 merged before
    the other published; idle, it finds the new summary and merges it."""
    stream = events(900, label_lag=150)
    unsharded = build_pipeline(_config(tmp_path, 1))
    unsharded.process((raw, "test", i) for i, raw in enumerate(stream))
    unsharded.evaluate_all()
    expected = unsharded.monitors["bench"].readings(unsharded.clock)
    config = _config(tmp_path, 2)
    first, second = build_pipeline(config), build_pipeline(config)
    second.store = first.store  # both publish and read summaries in one place
    for pipeline, shard in ((first, 0), (second, 1)):
        mine = [raw for raw in stream if shard_of(msgspec.json.decode(raw)["event_id"], 2)
                == shard]  # fmt: skip
        pipeline.process((raw, "test", i) for i, raw in enumerate(mine))
        pipeline.evaluate_all()
        pipeline.checkpoint()
    assert first.store.latest_readings("bench")[1]["events.predictions"] < 900  # shard 0 only
    assert second.merge_stale() is False  # shard 0 is not there: nothing to merge
    assert first.merge_stale() is True
    first.checkpoint()
    merged = first.store.latest_readings("bench")[1]
    assert merged["events.predictions"] == 900
    assert _differences(expected, merged) == []
    assert first.merge_stale() is False  # nothing new since


def test_full_windows_merge_to_each_shards_last_rows_as_documented(tmp_path):
    """Once the windows are full, the merged window is, as docs/scaling.md states, the
    last ⌊W/N⌋ rows of each shard (not the model's last W rows): accuracy against
    scikit-learn and the KS statistic against scipy over exactly those rows (1e-9)."""
    from scipy import stats
    from sklearn.metrics import accuracy_score

    shards = 2
    config = _config(tmp_path, shards)
    spec = config.models["bench"]
    pipeline = build_pipeline(config)
    stream = events(6000, label_lag=150)
    run_messages(pipeline, [(raw, "test", i) for i, raw in enumerate(stream)])
    merged = pipeline.store.latest_readings("bench")[1]
    predicted: dict[str, int] = {}
    values: list[list[float]] = [[] for _ in range(shards)]
    outcomes: list[list[tuple[int, int]]] = [[] for _ in range(shards)]
    for raw in stream:
        event = msgspec.json.decode(raw)
        k = shard_of(event["event_id"], shards)
        if event["type"] == "prediction":
            predicted[event["event_id"]] = event["prediction"]
            values[k].append(event["features"]["f0"])
        else:  # labels come after their predictions here: the join order is theirs
            outcomes[k].append((event["label"], predicted[event["event_id"]]))
    drift_rows = spec.drift.window // shards
    window_rows = spec.windows.size // shards
    assert all(len(v) > drift_rows for v in values)  # the windows are full
    assert all(len(o) > window_rows for o in outcomes)
    x = [v for shard in values for v in shard[-drift_rows:]]
    joined = [o for shard in outcomes for o in shard[-window_rows:]]
    reference = np.loadtxt(tmp_path / "reference.csv", delimiter=",", skiprows=1,
                           usecols=0)  # f0 is the first column  # fmt: skip
    assert merged["drift.f0.samples"] == len(x) == 2 * drift_rows
    assert merged["drift.f0.ks_statistic"] == pytest.approx(
        stats.ks_2samp(reference, x).statistic, rel=TOLERANCE, abs=TOLERANCE)
    assert merged["labeled"] == len(joined) == 2 * window_rows
    y, y_hat = zip(*joined, strict=True)
    assert merged["accuracy"] == pytest.approx(accuracy_score(y, y_hat), abs=TOLERANCE)
