"""Per-version readings in an A/B trial: accuracy per model_version over the window,
against scikit-learn, and across a restart."""

from __future__ import annotations

import json

import pytest
from sklearn.metrics import accuracy_score
from unit.test_pipeline import _events

from driftd.config import load_config
from driftd.daemon.embedded import build_pipeline, run_messages

RETRAIN = """    retrain:
      estimator: sklearn.linear_model.LogisticRegression
      live: {mode: ab, share: 0.5}
"""


def test_accuracy_per_version_over_the_window_and_after_a_restart(binary_config_file):
    binary_config_file.write_text(binary_config_file.read_text().replace(
        "runtime:", RETRAIN + "runtime:"))  # fmt: skip
    config = load_config(binary_config_file)
    messages = []
    version_of = {}
    for raw, source, offset in _events(900):
        event = json.loads(raw)
        if event["type"] == "prediction":
            # One in three requests served by version 2.
            version = 2 if int(event["event_id"][1:]) % 3 == 0 else 1
            event["model_version"] = version_of[event["event_id"]] = version
        messages.append((json.dumps(event).encode(), source, offset))
    pipeline = build_pipeline(config, fresh=True, quiet=True)
    run_messages(pipeline, messages[:1200])  # ends with a checkpoint
    restored = build_pipeline(config, quiet=True)
    run_messages(pipeline, messages[1200:])
    run_messages(restored, messages[1200:])
    readings = pipeline.store.latest_readings("m1")[1]
    events = [json.loads(raw) for raw, _, _ in messages]
    predictions = {e["event_id"]: e["prediction"] for e in events if e["type"] == "prediction"}
    joined = [e for e in events if e["type"] == "label"]  # labels come after predictions
    last = joined[-config.models["m1"].windows.size :]
    for version in (1, 2):
        mine = [e for e in last if version_of[e["event_id"]] == version]
        assert readings[f"version.{version}.events"] == len(mine) > 30
        assert readings[f"version.{version}.accuracy"] == pytest.approx(
            accuracy_score([e["label"] for e in mine], [predictions[e["event_id"]] for e in mine]),
            abs=1e-12)  # fmt: skip
    now = pipeline.clock
    assert restored.monitors["m1"].readings(now) == pipeline.monitors["m1"].readings(now)
