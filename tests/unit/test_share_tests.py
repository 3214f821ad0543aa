"""Calibrated tests on a share: a class among the labels (label shift), a group's
positive decisions (fairness-ATTR-selection-fell, in test_hidden_regression.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from driftd.config import load_config
from driftd.daemon.embedded import build_pipeline, run_messages
from driftd.detectors.rate_test import raised_share


@pytest.mark.parametrize(("p0", "p1"), [(0.02, 0.07), (0.5, 0.625), (0.84, 0.89), (0.98, 0.99)])
def test_the_share_worth_paging_for(p0, p1):
    """5 points, or a quarter of the rarer side's share, whichever is more."""
    assert raised_share(p0) == pytest.approx(max(p1, p0 + 0.05), abs=1e-12)


def _replay(tmp_path, extra_positive: float) -> list:
    rng = np.random.default_rng(21)
    n, change = 20_000, 10_000
    x = rng.normal(0, 1, 4000)
    score = 1 / (1 + np.exp(-1.5 * x))
    (tmp_path / "reference.csv").write_text("x,prediction,label,score\n" + "".join(
        f"{x[i]},{int(score[i] >= 0.5)},{int(rng.random() < score[i])},{score[i]}\n"
        for i in range(4000)))  # fmt: skip
    (tmp_path / "driftd.yaml").write_text(
        "models:\n  m:\n    task: binary\n    features: {x: numeric}\n"
        "    reference: reference.csv\nruntime: {state_dir: state}\n"
    )
    events = []
    for i in range(n):
        xi = float(rng.normal())
        p = 1 / (1 + np.exp(-1.5 * xi))
        label = int(rng.random() < p or (i >= change and rng.random() < extra_positive))
        t = 1.8e9 + i
        events.append({"type": "prediction", "event_id": f"p{i}", "model_id": "m",
                       "timestamp": t, "features": {"x": xi}, "prediction": int(p >= 0.5),
                       "score": p})  # fmt: skip
        events.append({"type": "label", "event_id": f"p{i}", "model_id": "m",
                       "timestamp": t, "label": label})  # fmt: skip
    pipeline = build_pipeline(load_config(tmp_path / "driftd.yaml"), fresh=True, quiet=True)
    run_messages(pipeline, [(json.dumps(e).encode(), "t", i) for i, e in enumerate(events)])
    return [a for a in pipeline.dispatcher.sent if a.state == "firing"]


def test_a_label_shift_is_told_by_the_share_test_and_a_stable_mix_is_not(tmp_path):
    """A quarter of the negative labels turn positive at prediction 10,000 (0.5 → 0.625):
    label_drift-share fires within ~600 labels (river's ADWIN on the same indicator
    took 516 in the benchmark); before it, and on a stable stream, no label alert."""
    (tmp_path / "stable").mkdir()
    stable = _replay(tmp_path / "stable", 0.0)
    assert [a.rule for a in stable if a.rule.startswith("label_drift")] == []
    (tmp_path / "shift").mkdir()
    shifted = [a for a in _replay(tmp_path / "shift", 0.25) if a.rule == "label_drift-share"]
    assert shifted and shifted[0].metric == "label_drift.share.1.rise.alarm"
    delay = shifted[0].event_time - (1.8e9 + 10_000)
    assert 0 <= delay < 1000, delay
