"""`driftd models register`: the model already in production becomes the champion, through
the same checks as any load, with its quality on the reference recorded."""

from __future__ import annotations

import json
import pickle

import pandas as pd
import pytest
import skops.io as sio
from retrain.helpers import config_text, draw, driftd, store_rows, write_reference
from sklearn.metrics import accuracy_score

from driftd.config import load_config
from driftd.daemon.paths import STORE_FILE, registry_dir
from driftd.retrain.registry import Registry
from driftd.retrain.tune import build_estimator
from driftd.store.sqlite import SqliteStore

pytestmark = pytest.mark.slow

FEATURES = ["x1", "x2", "color"]


def test_a_production_model_is_registered_as_champion_and_then_challenged(tmp_path):
    reference = write_reference(tmp_path / "reference.csv")
    path = tmp_path / "driftd.yaml"
    path.write_text(config_text(reference, tmp_path / "state",
                                gates="{bootstrap: 300, reference_tolerance: 0.02}"))  # fmt: skip
    config = load_config(path)
    spec = config.models["credit"]
    before = draw(3000, shifted=False, seed=30)
    production = build_estimator(spec, spec.retrain).fit(before[FEATURES], before["label"])
    artifact = tmp_path / "production.skops"
    sio.dump(production, artifact)

    # A pickle is refused in one line, never opened, and nothing is registered.
    pickled = tmp_path / "production.pkl"
    pickled.write_bytes(pickle.dumps(production))
    refused = driftd("models", "register", "credit", str(pickled), "--config", str(path))
    assert refused.returncode == 1 and "not a skops artifact" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert Registry(registry_dir(config)).versions("credit") == []

    done = driftd("models", "register", "credit", str(artifact), "--config", str(path))
    assert done.returncode == 0, done.stderr
    assert "registered version 1" in done.stdout and "champion None -> 1" in done.stdout
    registry = Registry(registry_dir(config))
    meta = registry.meta("credit", 1)
    frame = pd.read_csv(reference)
    oracle = accuracy_score(frame["label"], production.predict(frame[FEATURES]))
    assert meta["origin"] == "registered by hand" and meta["reference_metric"] == "accuracy"
    assert meta["metrics"]["reference"] == pytest.approx(oracle, abs=1e-12)
    audit = registry_dir(config) / "credit" / "events.jsonl"
    (event,) = [json.loads(line) for line in audit.read_text().splitlines()]
    assert event["type"] == "model_promoted" and event["version"] == 1

    # The worker challenges it; the reference gate does not favour it (it may have
    # trained on the gate's rows), and says so.
    (tmp_path / "state").mkdir(exist_ok=True)
    store = SqliteStore(tmp_path / "state" / STORE_FILE)
    store_rows(store, draw(3000, shifted=True, seed=31), version="1")
    store.close()
    run = driftd("retrain", "credit", "--config", str(path), "--now", "--reason", "test")
    assert run.returncode == 0 and "promoted (version 2)" in run.stdout, run.stdout + run.stderr
    (report,) = (registry_dir(config) / "credit" / "runs").glob("*/report.json")
    reference_gate = json.loads(report.read_text())["gates"]["verdicts"]["reference"]
    assert reference_gate["judged"] is False and "not trained by driftd" in reference_gate["why"]
    assert registry.meta("credit", 2)["reference_holdout"] == "row-hash-mod-5"
