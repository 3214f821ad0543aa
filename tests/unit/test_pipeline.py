"""The pipeline end to end in process: malformed input, orphans, checkpoint and restore."""

from __future__ import annotations

import json

import numpy as np

from driftd.config import load_config
from driftd.consumers.deadletters import read_dead_letters
from driftd.daemon.embedded import build_pipeline, run_messages
from driftd.daemon.paths import ALERT_FILE, DEAD_LETTER_FILE, state_dir


def _events(n: int, seed: int = 0, start: float = 1.8e9):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        x = float(rng.normal())
        score = 1 / (1 + np.exp(-1.5 * x))
        t = start + i * 10
        out.append(
            (
                t,
                {
                    "type": "prediction",
                    "event_id": f"e{i}",
                    "model_id": "m1",
                    "timestamp": t,
                    "features": {"x": x, "color": str(rng.choice(["red", "green", "blue"]))},
                    "prediction": int(score >= 0.5),
                    "score": score,
                    "attributes": {"sex": str(rng.choice(["f", "m"]))},
                },
            )
        )
        out.append(
            (
                t + rng.uniform(0, 500),
                {
                    "type": "label",
                    "event_id": f"e{i}",
                    "model_id": "m1",
                    "timestamp": t + 300,
                    "label": int(rng.random() < score),
                },
            )
        )
    out.sort(key=lambda item: item[0])
    return [(json.dumps(e).encode(), "test", i) for i, (_, e) in enumerate(out)]


def test_malformed_input_is_dead_lettered_and_processing_continues(binary_config_file):
    config = load_config(binary_config_file)
    pipeline = build_pipeline(config, fresh=True, quiet=True)
    good = _events(300)
    huge = json.dumps(
        {
            "type": "prediction",
            "event_id": "big",
            "model_id": "m1",
            "timestamp": 1.8e9,
            "prediction": 1,
            "features": {"x": "y" * (2 << 20)},
        }
    ).encode()
    bad = [
        (b'{"type":"prediction","event_id":"t1","model_id":"m1","timestam', "bad", 0),
        (
            b'{"type":"prediction","event_id":5,"model_id":"m1","timestamp":1,"prediction":1}',
            "bad",
            1,
        ),
        (
            b'{"type":"prediction","event_id":"u1","model_id":"other","timestamp":1,"prediction":1}',
            "bad",
            2,
        ),
        (huge, "bad", 3),
        (good[0][0], "bad", 4),  # duplicate of the first prediction
        (
            b'{"type":"prediction","event_id":"c1","model_id":"m1","timestamp":1.8e9,"prediction":7}',
            "bad",
            5,
        ),
        (
            b'{"type":"label","event_id":"never-predicted","model_id":"m1","timestamp":1.8e9,"label":1}',
            "bad",
            6,
        ),
        (
            b'{"type":"prediction","event_id":"s1","model_id":"m1","timestamp":1.8e9,'
            b'"prediction":1,"score":1.7}',
            "bad",
            7,
        ),
        (
            b'{"type":"prediction","event_id":"s2","model_id":"m1","timestamp":1.8e9,'
            b'"prediction":0,"score":{"0":0.9,"1":-0.2}}',
            "bad",
            8,
        ),
    ]
    run_messages(pipeline, good[:10] + bad + good[10:])
    counts = pipeline.event_counts()
    assert counts["predictions"] == 300 and counts["labels"] == 301
    reasons = counts["dead_letter_reasons"]
    assert reasons == {
        "malformed_json": 1,
        "invalid_schema": 1,
        "unknown_model": 1,
        "oversized": 1,
        "duplicate_event_id": 1,
        "unknown_class": 1,
        "invalid_score": 2,  # 1.7 and -0.2 are not probabilities
    }
    letters = read_dead_letters(state_dir(config) / DEAD_LETTER_FILE)
    assert {letter.reason for letter in letters} == set(reasons)
    assert all(letter.detail for letter in letters)
    truncated = next(letter for letter in letters if letter.reason == "malformed_json")
    assert truncated.original_bytes() == bad[0][0] and truncated.source == "bad"
    # The label nobody predicted waits for its prediction; it is an orphan once the TTL passes.
    assert pipeline.monitors["m1"].join.readings()["join.waiting_labels"] == 1
    # The stream moves on 12 days (eight predictions: a real jump, not one broken clock).
    late = [
        (json.dumps({"type": "prediction", "event_id": f"late{i}", "model_id": "m1",
                     "timestamp": 1.8e9 + 1e6 + i, "features": {"x": 0.1, "color": "red"},
                     "prediction": 0, "score": 0.2}).encode(), "t", 9 + i)
        for i in range(8)
    ]  # fmt: skip
    run_messages(pipeline, late)
    assert pipeline.event_counts()["dead_letter_reasons"]["orphan_label"] == 1


def test_checkpoint_restore_equals_one_pass(binary_config_file, tmp_path):
    messages = _events(800, seed=3)
    config = load_config(binary_config_file)
    one = build_pipeline(config, fresh=True, quiet=True)
    run_messages(one, messages)
    expected = one.monitors["m1"].readings(one.clock)

    first = build_pipeline(config, fresh=True, quiet=True)
    run_messages(first, messages[:700])  # ends with a checkpoint
    first.store.close()
    second = build_pipeline(config, quiet=True)  # restores from the store
    run_messages(second, messages[700:])
    got = second.monitors["m1"].readings(second.clock)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == value or abs(got[key] - value) < 1e-9, key
    assert expected["join.matched"] == 800 and expected["labeled"] == 200


def test_pipeline_readings_equal_sklearn_on_joined_window(binary_config_file):
    from sklearn.metrics import accuracy_score, roc_auc_score

    messages = _events(500, seed=4)
    config = load_config(binary_config_file)
    pipeline = build_pipeline(config, fresh=True, quiet=True)
    run_messages(pipeline, messages)
    readings = pipeline.monitors["m1"].readings(pipeline.clock)
    # Recompute from the raw events: the last 200 labels to join, in join order.
    preds, joined = {}, []
    for raw, _, _ in messages:
        event = json.loads(raw)
        if event["type"] == "prediction":
            preds[event["event_id"]] = event
        else:
            joined.append((event["label"], preds[event["event_id"]]))
    last = joined[-200:]
    y = [label for label, _ in last]
    assert readings["accuracy"] == accuracy_score(y, [p["prediction"] for _, p in last])
    assert abs(readings["roc_auc"] - roc_auc_score(y, [p["score"] for _, p in last])) < 1e-9


def test_nan_infinity_and_wrong_types_are_quality_findings(binary_config_file):
    config = load_config(binary_config_file)
    pipeline = build_pipeline(config, fresh=True, quiet=True)
    values = ["NaN", "Infinity", '"text"', "null", "0.5", "0.1", "99", "-0.3"]
    messages = [
        (
            b'{"type":"prediction","event_id":"q%d","model_id":"m1","timestamp":1.8e9,'
            b'"prediction":1,"features":{"x":%s,"color":%s}}'
            % (i, v.encode(), b'{"nested":1}' if i == 0 else b'"red"'),
            "t",
            i,
        )
        for i, v in enumerate(values)
    ]
    run_messages(pipeline, messages)
    readings = pipeline.monitors["m1"].readings(pipeline.clock)
    assert pipeline.event_counts()["dead_letters"] == 0
    assert readings["quality.x.missing_rate"] == 2 / 8  # NaN, null
    assert readings["quality.x.type_error_rate"] == 1 / 8  # "text"
    assert readings["quality.x.out_of_range_rate"] == 2 / 8  # Infinity, 99 (reference max < 5)
    assert readings["quality.color.type_error_rate"] == 1 / 8


def test_a_restored_model_is_evaluated_again_so_readings_catch_up(binary_config_file):
    """Events processed after the last tick and checkpointed must reach the readings
    after a restart, even if no new event arrives (found by the kill -9 test)."""
    from driftd.daemon.embedded import build_pipeline

    config = load_config(binary_config_file)
    first = build_pipeline(config, fresh=True, quiet=True)
    messages = _events(20, seed=5)  # fewer events than evaluate_every (50): no tick yet
    first.process(messages)
    first.checkpoint()
    assert first.store.latest_readings("m1") is None
    first.store.close()
    second = build_pipeline(config, quiet=True)
    second.evaluate_pending()
    second.checkpoint()
    _, readings = second.store.latest_readings("m1")
    assert readings["events.predictions"] + readings["events.labels"] == len(messages)


def _silences(tmp_path, reference_csv, silent) -> list:
    """Two models, a prediction each every 10 s for 400 minutes unless ``silent(model,
    i)``; m1's labels come two days after its predictions, m2's after 5 minutes.
    Returns the silence transitions."""
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "driftd.yaml"
    model = f"""
    task: binary
    features: {{x: numeric, color: categorical}}
    reference: {reference_csv}
    quality: {{silence_after: 10m}}"""
    path.write_text(f"models:\n  m1:{model}\n  m2:{model}\nruntime: {{state_dir: state}}\n")
    rng = np.random.default_rng(6)
    events = []
    for i in range(2400):
        t = START + i * 10
        for model_id in ("m1", "m2"):
            if silent(model_id, i):
                continue
            x = float(rng.normal())
            events.append({"type": "prediction", "event_id": f"{model_id}-{i}",
                           "model_id": model_id, "timestamp": t, "features": {"x": x},
                           "prediction": int(x > 0), "score": float(x > 0)})  # fmt: skip
            delay = 2 * 86400 if model_id == "m1" else 300
            events.append({"type": "label", "event_id": f"{model_id}-{i}", "label": int(x > 0),
                           "model_id": model_id, "timestamp": t + delay})  # fmt: skip
    messages = [(json.dumps(e).encode(), "test", i) for i, e in enumerate(events)]
    pipeline = build_pipeline(load_config(path), fresh=True, quiet=True)
    run_messages(pipeline, messages)
    return [a for a in pipeline.dispatcher.sent if a.rule == "silence"]


START = 1.8e9


def test_a_silent_model_is_noticed_in_stream_time_and_labels_do_not_move_the_clock(
    tmp_path, reference_csv
):
    """m2 stops predicting for 40 minutes while m1 goes on: one silence alert for m2,
    raised within a quarter of ``silence_after`` past it, resolved when m2 is back. m1's
    labels, timestamped two days after their predictions, make nobody look silent."""
    gap = (1200, 1440)  # m2 silent from prediction 1200 to 1440 (40 min)
    silence = _silences(tmp_path, reference_csv,
                        lambda model, i: model == "m2" and gap[0] <= i < gap[1])  # fmt: skip
    assert [(a.model, a.state) for a in silence] == [("m2", "firing"), ("m2", "resolved")]
    last_before = START + (gap[0] - 1) * 10
    fired, resolved = silence[0].event_time, silence[1].event_time
    assert 600 < fired - last_before <= 600 + 150 + 10, fired - last_before
    back = START + gap[1] * 10
    assert 0 <= resolved - back <= 150 + 10, resolved - back
    assert silence[0].value == fired - last_before


def test_a_gap_in_the_whole_stream_makes_no_model_silent(tmp_path, reference_csv):
    """Nothing at all for 30 minutes (a quiet night), then m1 is back a minute before
    m2: no silence alert, for nobody was seen missing while others were heard."""
    assert _silences(tmp_path, reference_csv, lambda model, i: 1200 <= i < 1380) == []
    late = _silences(tmp_path / "late", reference_csv,
                     lambda model, i: 1200 <= i < (1380 if model == "m1" else 1386))  # fmt: skip
    assert late == []


def test_a_refused_event_leaves_no_empty_twin_of_its_model(binary_config_file):
    """Issue 15: one label keyed to the wrong partition, then refused, made an empty
    monitor there; after a restart its readings (0 events) shadowed the owner's. Now a
    refused event leaves no state, a restored empty monitor is not kept, and nothing is
    evaluated for a model without events."""
    from driftd.daemon.pipeline import Pipeline

    config = load_config(binary_config_file)
    owner = build_pipeline(config, fresh=True, quiet=True)
    partition = Pipeline(config, owner.store, owner.dispatcher, owner.dead_letters,
                         owner.catalog, eager=False)  # fmt: skip
    bad = b'{"type":"label","event_id":"e1","model_id":"m1","timestamp":1.8e9,"label":"maybe"}'
    partition.process([(bad, "labels", 0)])
    assert partition.monitors == {} and partition.event_counts()["dead_letters"] == 1
    partition.monitor("m1")  # an empty twin, as 0.9 would have checkpointed it
    partition.evaluate_all()
    partition.checkpoint()
    assert owner.store.latest_readings("m1") is None
    again = Pipeline(config, owner.store, owner.dispatcher, owner.dead_letters, owner.catalog,
                     eager=False)  # fmt: skip
    assert again.restore() and again.monitors == {}


def _clock_run(tmp_path, reference_csv, outlier: float | None) -> tuple[dict, int]:
    """3,000 predictions 10 s apart, a third never labeled (the join's TTL is 1 h);
    prediction 1,500 stamped ``outlier`` seconds after its predecessor."""
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "driftd.yaml"
    path.write_text(f"""models:
  m1:
    task: binary
    features: {{x: numeric, color: categorical}}
    reference: {reference_csv}
    windows: {{size: 200, tumbling: 1h}}
    join: {{ttl: 1h}}
runtime: {{state_dir: state}}
""")
    rng = np.random.default_rng(9)
    events = []
    for i in range(3000):
        t = START + i * 10
        if i == 1500 and outlier is not None:
            t = START + 1499 * 10 + outlier
        x = float(rng.normal())
        events.append({"type": "prediction", "event_id": f"p{i}", "model_id": "m1",
                       "timestamp": t, "features": {"x": x, "color": "red"},
                       "prediction": int(x > 0), "score": 1 / (1 + np.exp(-x))})  # fmt: skip
        if i % 3:
            events.append({"type": "label", "event_id": f"p{i}", "model_id": "m1",
                           "timestamp": START + i * 10 + 60, "label": int(x > 0.2)})  # fmt: skip
    pipeline = build_pipeline(load_config(path), fresh=True, quiet=True)
    run_messages(pipeline, [(json.dumps(e).encode(), "t", i) for i, e in enumerate(events)])
    readings = pipeline.monitors["m1"].readings(pipeline.clock)
    return readings, pipeline.event_counts()["clock_outliers"]


def test_one_prediction_from_a_broken_clock_changes_no_join_window_or_expiry(
    tmp_path, reference_csv
):
    """Issue 15: one prediction at +360 days used to move the stream clock and expire
    every waiting prediction. Now it is taken at the clock's time and counted: every
    reading (joins, expiries, tumbling windows, the estimate) equals the run where it
    was stamped at the clock's time to begin with."""
    honest, none = _clock_run(tmp_path / "honest", reference_csv, 0.0)
    # +200 days: 360 would be refused outright (over a year past the wall clock)
    broken, counted = _clock_run(tmp_path / "broken", reference_csv, 200 * 86400.0)
    assert broken == honest
    assert (none, counted) == (0, 1)
    assert honest["join.expired"] > 0  # the TTL did its work in both


def test_a_live_stream_back_from_a_quiet_weekend_moves_the_clock_at_once(binary_config_file):
    """Three days without predictions, then one stamped now: the wall clock agrees with
    it, so it is believed (not taken at the old clock's time, not counted)."""
    import time

    config = load_config(binary_config_file)
    pipeline = build_pipeline(config, fresh=True, quiet=True)
    now = time.time()
    friday = [(json.dumps({"type": "prediction", "event_id": f"f{i}", "model_id": "m1",
                           "timestamp": now - 3 * 86400 + i, "prediction": 1}).encode(), "t", i)
              for i in range(5)]  # fmt: skip
    monday = (json.dumps({"type": "prediction", "event_id": "mon", "model_id": "m1",
                          "timestamp": now, "prediction": 1}).encode(), "t", 5)  # fmt: skip
    run_messages(pipeline, [*friday, monday])
    assert pipeline.clock == now and pipeline.event_counts()["clock_outliers"] == 0


def test_the_history_api_returns_each_point_once(binary_config_file):
    """The end of a replay evaluates once more at the same stream time; the history (the
    API's and the dashboard's) must not repeat its last point."""
    from driftd.daemon.builders import build_view

    config = load_config(binary_config_file)
    pipeline = build_pipeline(config, fresh=True, quiet=True)
    run_messages(pipeline, _events(900))
    pipeline.evaluate_all()  # what a final flush or a restart does at the same clock
    pipeline.checkpoint()
    points = build_view(config, False).history("m1", "accuracy", 1000)
    times = [t for t, _ in points]
    assert len(points) > 3 and times == sorted(set(times)), times[-5:]


def test_a_restart_hands_alerts_still_firing_to_the_alert_manager(binary_config_file):
    """The alert manager of a new process learns of the alerts that fired before the
    restart and still fire (so repeats and Alertmanager re-sends go on), and the alert
    log does not record them a second time."""
    text = binary_config_file.read_text().replace(
        "    drift: {window: 300, min_samples: 100}\n",
        "    drift: {window: 300, min_samples: 100}\n"
        "    rules: [{metric: events.predictions, op: '>', threshold: 5}]\n",
    ) + "notifiers: [jsonl]\nalerting:\n  receivers: {log: {type: console}}\n" \
        "  routes: [{name: all, receivers: [log]}]\n"  # fmt: skip
    binary_config_file.write_text(text)
    config = load_config(binary_config_file)
    first = build_pipeline(config, fresh=True, quiet=True)
    first.process(_events(60, seed=7))
    first.evaluate_pending()
    first.checkpoint()
    fired = {key for key, t in first.dispatcher.alerting.manager.tracked.items()
             if t.alert.metric == "events.predictions"}  # fmt: skip
    assert len(fired) == 1
    first.dispatcher.alerting.stop(0)
    first.store.close()
    log = state_dir(config) / ALERT_FILE
    logged = log.read_text().count('"events.predictions"')
    second = build_pipeline(config, quiet=True)
    assert second.dispatcher.alerting.manager.tracked == {}
    second.process(_events(60, seed=8, start=1.8e9 + 5000))
    second.evaluate_pending()
    tracked = second.dispatcher.alerting.manager.tracked
    assert fired <= set(tracked) and tracked[next(iter(fired))].alert.state == "firing"
    assert log.read_text().count('"events.predictions"') == logged  # not a new transition
    second.dispatcher.alerting.stop(0)
