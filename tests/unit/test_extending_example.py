"""docs/examples/positive_rate.py, the detector docs/extending.md builds, really works."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import msgspec
import numpy as np
import pytest
from scipy import stats

from driftd.config import load_config
from driftd.daemon.catalog import ModelCatalog
from driftd.detectors.monitor import ModelMonitor
from driftd.detectors.registry import DETECTORS, build_detectors, rule_templates
from driftd.events import Prediction

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "positive_rate.py"


def _example():
    spec = importlib.util.spec_from_file_location("positive_rate", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_documented_detector_registers_reads_and_checkpoints(binary_config_file):
    example = _example()
    catalog = ModelCatalog(load_config(binary_config_file))
    context = catalog.contexts["m1"]
    detectors = build_detectors(context, (*DETECTORS, example.PositiveRate))
    monitor = ModelMonitor(context, detectors)
    rng = np.random.default_rng(3)
    predicted = (rng.random(2000) < 0.7).astype(int)
    for i, y_hat in enumerate(predicted):
        monitor.on_prediction(Prediction(event_id=f"e{i}", model_id="m1", timestamp=1.8e9 + i,
                                         features={"x": 0.0, "color": "red"},
                                         prediction=int(y_hat)))  # fmt: skip
    readings = monitor.readings(1.8e9 + 2000)
    window = predicted[-300:]  # drift.window in the test config
    interval = stats.binomtest(int(window.sum()), len(window)).proportion_ci(method="wilson")
    assert readings["positive_rate"] == pytest.approx(window.mean(), abs=1e-12)
    assert readings["positive_rate.low"] == pytest.approx(interval.low, abs=1e-12)
    assert readings["positive_rate.high"] == pytest.approx(interval.high, abs=1e-12)
    (template,) = [t for t in rule_templates(detectors) if t.name == "positive-rate-up"]
    reference_rate = float(np.mean(context.reference_column("prediction") == "1"))
    assert template.threshold == pytest.approx(reference_rate + 0.1, abs=1e-6)
    again = ModelMonitor(context, build_detectors(context, (*DETECTORS, example.PositiveRate)))
    again.restore(msgspec.json.decode(msgspec.json.encode(monitor.snapshot())))
    assert again.readings(1.8e9 + 2000) == readings
