"""The detector contract: declared reading names, rule templates, typed records, old snapshots."""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec
import numpy as np
import pytest
import yaml

from driftd.config import ConfigError, load_config
from driftd.daemon.catalog import ModelCatalog
from driftd.detectors.base import Detector
from driftd.detectors.merging import is_sequential
from driftd.detectors.readings import may_match
from driftd.detectors.records import TrainingInputs, WaitingPrediction
from driftd.detectors.registry import MONITOR_READINGS
from driftd.events import Label, Prediction

T0 = 1.8e9


def _stream(monitor, n: int, seed: int, task: str, classes: list[str]) -> None:
    """n predictions with their labels five events later, some unscored."""
    rng = np.random.default_rng(seed)
    labels: list[Any] = []
    for i in range(n):
        x = float(rng.normal())
        if task == "regression":
            prediction: Any = x * 2
            label: Any = x * 2 + float(rng.normal(0, 0.3))
            score: Any = None
        elif task == "binary":
            score = 1 / (1 + math.exp(-1.5 * x))
            prediction, label = int(score >= 0.5), int(rng.random() < score)
        else:
            proba = rng.dirichlet(np.ones(len(classes)))
            score = dict(zip(classes, proba.tolist(), strict=True))
            prediction = classes[int(np.argmax(proba))]
            label = classes[int(rng.integers(len(classes)))]
        monitor.on_prediction(Prediction(
            event_id=f"e{i}", model_id=monitor.model_id, timestamp=T0 + i * 10,
            features={"x": x, "color": str(rng.choice(["red", "green", "blue"]))},
            prediction=prediction, score=None if i % 9 == 0 else score,
            attributes={"sex": str(rng.choice(["f", "m"]))}, latency_ms=float(rng.random() * 20),
        ))  # fmt: skip
        labels.append(label)
        if i >= 5:
            monitor.on_label(Label(event_id=f"e{i - 5}", model_id=monitor.model_id,
                                   timestamp=T0 + i * 10, label=labels[i - 5]))  # fmt: skip


def _config(tmp_path, reference_csv, task: str, rules: list | None = None, retrain=False):
    model: dict[str, Any] = {
        "task": task,
        "features": {"x": "numeric", "color": "categorical"},
        "sensitive_attributes": ["sex"],
        "windows": {"size": 200, "tumbling": "10m"},
        "drift": {"window": 300, "min_samples": 50},
        "fairness": {"min_group_size": 10},
    }
    if task == "binary":
        model["reference"] = reference_csv.name
    if task == "multiclass":
        model["classes"] = ["a", "b", "c"]
    if rules is not None:
        model["rules"] = rules
    if retrain:
        model["retrain"] = {"estimator": "sklearn.linear_model.LogisticRegression"}
    path = tmp_path / "driftd.yaml"
    path.write_text(yaml.safe_dump({"models": {"m1": model}, "runtime": {"state_dir": "s"}}))
    return load_config(path)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_every_reading_a_monitor_produces_is_declared(tmp_path, reference_csv, task):
    catalog = ModelCatalog(_config(tmp_path, reference_csv, task))
    monitor = catalog.new_monitor("m1")
    _stream(monitor, 3000, seed=1, task=task, classes=["a", "b", "c"])
    produced = monitor.readings(T0 + 3000 * 10)
    declared = catalog.reading_names["m1"]
    assert declared == monitor.reading_names()
    undeclared = [n for n in produced if not any(may_match(n, d) for d in declared)]
    assert undeclared == []
    # and the declarations are not a blanket: most of them were produced here
    concrete = [d for d in declared if "{" not in d]
    assert sum(d in produced for d in concrete) >= 0.8 * len(concrete)



@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_a_shards_summary_readings_are_its_sequential_readings(tmp_path, reference_csv, task):
    """What a shard publishes at its tick (``sequential_readings``, which skips the
    window statistics) is, value for value, the sequential part of its full readings."""
    catalog = ModelCatalog(_config(tmp_path, reference_csv, task))
    monitor = catalog.new_monitor("m1")
    _stream(monitor, 1500, seed=2, task=task, classes=["a", "b", "c"])
    now = T0 + 1500 * 10
    every = monitor.readings(now)
    expected = {k: v for k, v in every.items() if k in MONITOR_READINGS or is_sequential(k)}
    published = monitor.sequential_readings(now)
    assert published == expected
    assert len(expected) > len(MONITOR_READINGS)  # the sequential tests' readings are in
    if task == "binary":  # the numeric features' window statistics were left out
        assert "drift.x.ks_statistic" in every and "drift.x.ks_statistic" not in published
        assert "drift.x.shift_score" in published
    for detector in monitor.detectors:
        ours = {k: v for k, v in detector.readings(now).items() if is_sequential(k)}
        assert _nan_as_none(detector.sequential_readings(now)) == _nan_as_none(ours), detector.name


def _nan_as_none(readings: dict) -> dict:
    return {k: None if v is None or v != v else v for k, v in readings.items()}

def test_default_rules_are_the_detectors_templates(tmp_path, reference_csv):
    catalog = ModelCatalog(_config(tmp_path, reference_csv, "binary"))
    by_name = {rule.name: rule for rule in catalog.rules}
    # The rules 0.7 derived keep their names (part of every alert's dedup key), plus 0.9's
    # unseen-categories, feature-scale, label-share and selection-fell tests; a reference
    # of 2000 rows gets distances, not KS statistics.
    assert set(by_name) == {
        "accuracy-drop", "drift.x-wasserstein", "drift.color-jensenshannon", "feature-shift",
        "prediction_drift.class-jensenshannon", "prediction_drift.score-wasserstein",
        "label_drift-jensenshannon", "fairness-sex-four-fifths",
        "fairness-sex-equalized-odds", "concept-drift", "quality-missing_rate",
        "quality-type_error_rate", "quality-out_of_range_rate", "silence", "unseen-categories",
        "feature-scale", "label_drift-share", "fairness-sex-selection-fell",
    }  # fmt: skip
    assert by_name["feature-shift"].metric == "drift.*.shift"
    assert by_name["accuracy-drop"].guard_metric == "labeled"
    # Evidence before severity: each decided by a test, not by a value crossing a line.
    assert by_name["accuracy-drop"].evidence_metric == "error_test.alarm"
    assert by_name["quality-missing_rate"].evidence_metric == "{metric}.alarm"
    assert by_name["drift.x-wasserstein"].evidence_metric == "drift.x.significant"
    assert by_name["fairness-sex-four-fifths"].metric.endswith("demographic_parity_ratio_upper")
    monitor = catalog.new_monitor("m1")
    assert monitor.window_of("accuracy") == "last 200 labeled events"
    assert monitor.window_of("drift.color.jensenshannon") == "last 300 values"
    assert monitor.window_of("fairness.sex.group.f.tpr") == "last 200 labeled events"
    assert monitor.window_of("events.predictions") == ""


def test_a_rule_on_a_reading_that_does_not_exist_is_a_config_error(tmp_path, reference_csv):
    rules = [{"metric": "acuracy", "op": "<", "threshold": 0.8}]
    with pytest.raises(ConfigError) as caught:
        ModelCatalog(_config(tmp_path, reference_csv, "binary", rules))
    assert caught.value.path == "models.m1.rules[0].metric"
    assert "did you mean 'accuracy'" in caught.value.problem


def test_rules_may_match_readings_known_only_at_run_time(tmp_path, reference_csv):
    rules = [
        {"metric": "fairness.sex.group.*.accuracy", "op": "<", "threshold": 0.5},
        {"metric": "fairness.sex.group.f.selection_rate", "op": "<", "threshold": 0.1},
        {"metric": "drift.*.psi", "op": ">", "threshold": 0.3},
    ]
    catalog = ModelCatalog(_config(tmp_path, reference_csv, "binary", rules))
    assert {rule["metric"] for rule in rules} <= {rule.metric for rule in catalog.rules}


def test_a_detector_fed_a_batch_it_cannot_take_is_refused():
    with pytest.raises(TypeError, match="no update_outcomes"):

        class Broken(Detector):
            name = "broken"
            feeds = ("outcomes",)


def test_snapshots_from_before_the_records_still_load(tmp_path, reference_csv):
    """0.7 kept a waiting prediction as [t, y_hat, score, proba, groups, share(, inputs)]."""
    monitor = ModelCatalog(_config(tmp_path, reference_csv, "binary", retrain=True)).new_monitor(
        "m1"
    )
    inputs = {"t": T0, "x": {"x": 0.5, "color": "red"}, "a": {"sex": "f"}, "v": "3", "p": 1}
    legacy = {
        "predictions": [
            ["old-1", T0, [T0, 1, 0.9, None, {"sex": "f"}, [0.9, 0.1, 0.0, 0.0], inputs]],
            ["old-2", T0 + 1, [T0 + 1, 0, None, None, {}, None, inputs]],  # unscored
        ],
        "labels": [],
        "joined_ids": [],
        "joined_times": [],
        "counts": {"matched": 0, "expired": 0, "orphans": 0, "duplicates": 0},
    }
    state = json.loads(json.dumps({"join": legacy, "estimate": {"sums": [0.9, 0.1, 0, 0],
                                                                "count": 1}}))  # fmt: skip
    monitor.restore(state)
    assert monitor.readings(T0 + 2)["estimated.pending"] == 1
    for event_id, label in (("old-1", 1), ("old-2", 0)):
        monitor.on_label(Label(event_id=event_id, model_id="m1", timestamp=T0 + 5, label=label))
    readings = monitor.readings(T0 + 5)
    assert readings["join.matched"] == 2 and readings["labeled"] == 2
    assert readings["estimated.pending"] == 0 and readings["accuracy"] == 1.0
    rows = monitor.unsaved_training_rows()
    assert [row["y"] for row in rows] == ["1", "0"] and rows[0]["x"] == inputs["x"]


def test_waiting_unscored_predictions_survive_a_checkpoint(tmp_path, reference_csv):
    """A missing score waits as NaN, goes to JSON as null and comes back as NaN."""
    catalog = ModelCatalog(_config(tmp_path, reference_csv, "binary"))
    first = catalog.new_monitor("m1")
    for i in range(30):
        first.on_prediction(Prediction(event_id=f"u{i}", model_id="m1", timestamp=T0 + i,
                                       features={"x": 0.1, "color": "red"}, prediction=i % 2))
    state = msgspec.json.decode(msgspec.json.encode(first.snapshot()))
    second = catalog.new_monitor("m1")
    second.restore(state)
    for i in range(30):
        second.on_label(Label(event_id=f"u{i}", model_id="m1", timestamp=T0 + 4000,
                              label=i % 2))  # fmt: skip
    second.on_prediction(Prediction(event_id="next", model_id="m1", timestamp=T0 + 4000,
                                    features={"x": 0.1, "color": "red"}, prediction=0))
    readings = second.readings(T0 + 4000)  # the first 10-minute window has closed
    assert readings["labeled"] == 30 and readings["accuracy"] == 1.0
    assert readings["tumbling.labeled"] == 30 and "tumbling.log_loss" not in readings


def test_records_encode_as_short_arrays():
    record = WaitingPrediction(T0, 1.0, 0.25, None, {"sex": "f"},
                               TrainingInputs(T0, {"x": 1.0}, {"sex": "f"}, None, 1))  # fmt: skip
    encoded = msgspec.json.encode(record)
    assert encoded.startswith(b"[") and b"event_time" not in encoded
    assert msgspec.json.decode(encoded, type=WaitingPrediction) == record
