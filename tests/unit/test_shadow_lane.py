"""The shadow lane: a challenger's shadow predictions (same event ids) are joined to the
same labels and monitored with the same detectors, beside the model's own readings,
which they never touch; it survives a restart and says nothing about labels it never
had a prediction for."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score
from unit.test_pipeline import _events

from driftd.config import load_config
from driftd.consumers.deadletters import read_dead_letters
from driftd.daemon.embedded import build_pipeline, run_messages
from driftd.daemon.paths import ALERT_FILE, DEAD_LETTER_FILE, state_dir


def with_shadows(messages: list, every: int = 2, flip: float = 0.3, seed: int = 1):
    """After every ``every``-th prediction, the challenger's shadow prediction for it
    (version 2), with a share ``flip`` of its answers flipped."""
    rng = np.random.default_rng(seed)
    out, shadows = [], {}
    for raw, _source, _ in messages:
        out.append(raw)
        event = json.loads(raw)
        if event["type"] == "prediction" and int(event["event_id"][1:]) % every == 0:
            flipped = rng.random() < flip
            answer = 1 - event["prediction"] if flipped else event["prediction"]
            shadow = {**event, "shadow": True, "model_version": 2, "prediction": answer}
            shadows[event["event_id"]] = shadow["prediction"]
            out.append(json.dumps(shadow).encode())
    return [(raw, "test", i) for i, raw in enumerate(out)], shadows


def test_shadow_predictions_get_their_own_readings_and_leave_the_models_alone(
    binary_config_file,
):
    config = load_config(binary_config_file)
    plain = _events(800)
    alone = build_pipeline(config, fresh=True, quiet=True)
    run_messages(alone, plain)
    expected = alone.store.latest_readings("m1")[1]

    messages, shadows = with_shadows(plain)
    pipeline = build_pipeline(config, fresh=True, quiet=True)
    run_messages(pipeline, messages)
    readings = pipeline.store.latest_readings("m1")[1]
    own = {k: v for k, v in readings.items() if not k.startswith("shadow.")}
    assert own == expected  # the champion's readings: as if no shadow event came
    assert readings["shadow.events.predictions"] == len(shadows) == 400
    # Its accuracy: over the last window of its joined events (label order), sklearn's.
    labels = [json.loads(raw) for raw, _, _ in plain]
    joined = [(e["event_id"], e["label"]) for e in labels if e["type"] == "label"
              and e["event_id"] in shadows]  # fmt: skip
    size = config.models["m1"].windows.size
    last = joined[-size:]
    oracle = accuracy_score([y for _, y in last], [shadows[i] for i, _ in last])
    assert readings["shadow.accuracy"] == pytest.approx(oracle, abs=1e-12)
    # Labels of predictions that had no shadow are not orphans anywhere.
    path = state_dir(config) / DEAD_LETTER_FILE
    letters = read_dead_letters(path) if path.exists() else []
    assert not [d for d in letters if d.reason == "orphan_label"]

    # The lane holds the labels that had no shadow prediction; past the TTL they leave
    # it quietly (not orphans of the model), and the quiet lane goes with them.
    monitor = pipeline.monitors["m1"]
    assert monitor.shadow is not None and len(monitor.shadow.join.labels) == 400
    later = pipeline.clock + float(config.models["m1"].join.ttl) + 1

    # A restart restores the lane: the same readings after the last checkpoint.
    restored = build_pipeline(config, quiet=True)
    lane = restored.monitors["m1"].shadow
    assert lane is not None
    now = restored.clock
    assert restored.monitors["m1"].readings(now) == pipeline.monitors["m1"].readings(now)
    assert monitor.expire(later) == [] and monitor.shadow is None


def test_a_shadow_prediction_needs_a_version_and_a_duplicate_is_refused(binary_config_file):
    config = load_config(binary_config_file)
    plain = _events(50)
    first = json.loads(plain[0][0])
    assert first["type"] == "prediction"
    shadow = {**first, "shadow": True, "model_version": 2}
    nameless = {**first, "shadow": True, "model_version": None}
    extra = [json.dumps(e).encode() for e in (shadow, shadow, nameless)]
    pipeline = build_pipeline(config, fresh=True, quiet=True)
    run_messages(pipeline, [*plain, *[(raw, "test", 1000 + i) for i, raw in enumerate(extra)]])
    reasons = [d.reason for d in read_dead_letters(state_dir(config) / DEAD_LETTER_FILE)]
    assert reasons.count("duplicate_event_id") == 1
    assert reasons.count("invalid_schema") == 1


def test_no_rule_fires_on_a_shadow_reading(binary_config_file):
    """A rule whose glob matches shadow readings too (``*accuracy``) fires on the model's
    own accuracy only: the challenger serves no one."""
    text = binary_config_file.read_text().replace(
        "    drift: {window: 300, min_samples: 100}\n",
        "    drift: {window: 300, min_samples: 100}\n"
        "    rules: [{metric: '*accuracy', op: '<', threshold: 2.0, severity: info}]\n",
    )
    binary_config_file.write_text(text)
    config = load_config(binary_config_file)
    messages, _ = with_shadows(_events(400))
    pipeline = build_pipeline(config, fresh=True, quiet=True)
    run_messages(pipeline, messages)
    assert "shadow.accuracy" in pipeline.store.latest_readings("m1")[1]
    fired = {a["metric"] for a in map(json.loads, (state_dir(config) / ALERT_FILE).read_text()
                                      .splitlines())}  # fmt: skip
    assert "accuracy" in fired and not any(m.startswith("shadow.") for m in fired)
