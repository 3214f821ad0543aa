"""The training data's two guards: holdout rows that repeat training rows are removed and
counted, and the reference gate's rows are never trained on, by any run."""

from __future__ import annotations

import numpy as np
from retrain.helpers import config_text, draw, write_reference

from driftd.config import load_config
from driftd.config.retraining import GatesSpec
from driftd.reference import load_reference
from driftd.retrain.dataset import assemble, row_hashes
from driftd.retrain.gates import judge


def _setup(tmp_path, data="{use_reference: true, holdout: 0.25}"):
    reference = write_reference(tmp_path / "reference.csv", n=2000)
    path = tmp_path / "driftd.yaml"
    path.write_text(config_text(reference, tmp_path / "state", data=data))
    spec = load_config(path).models["credit"]
    return spec, load_reference("credit", spec)


def _rows(frame, start=1.8e9):
    return [{"t": start + i, "x": {"x1": r.x1, "x2": r.x2, "color": r.color},
             "a": {"sex": r.sex}, "v": "1", "y": int(r.label), "p": int(r.label)}
            for i, r in enumerate(frame.itertuples())]  # fmt: skip


def test_holdout_rows_that_repeat_training_rows_are_removed_and_counted(tmp_path):
    spec, reference = _setup(tmp_path)
    live = draw(400, shifted=True, seed=3)
    rows = _rows(live)
    for i in range(340, 400, 4):  # 15 holdout rows copy older (training) rows
        rows[i] = {**rows[i - 300], "t": rows[i]["t"]}
    data = assemble(spec, reference, rows)
    assert data.window["holdout_repeats_removed"] == 15
    assert data.window["holdout_rows"] == 100 - 15 == len(data.holdout)
    assert not np.isin(row_hashes(data.holdout), row_hashes(data.train)).any()


def test_the_reference_gate_rows_are_never_trained_on_and_always_the_same(tmp_path):
    spec, reference = _setup(tmp_path)
    first = assemble(spec, reference, _rows(draw(400, shifted=True, seed=4)))
    second = assemble(spec, reference, _rows(draw(600, shifted=True, seed=5)))
    gate = row_hashes(first.reference)
    assert 0.15 < len(gate) / 2000 < 0.25  # one row in five
    assert not np.isin(gate, row_hashes(first.train)).any()
    assert (gate == row_hashes(second.reference)).all()  # the same rows in every run
    assert first.window["reference_rows"] + first.window["reference_gate_rows"] == 2000


def test_a_champion_that_may_have_trained_on_the_gate_rows_is_not_judged_there(tmp_path):
    spec, reference = _setup(tmp_path)
    data = assemble(spec, reference, _rows(draw(400, shifted=True, seed=6)))
    from driftd.retrain.tune import build_estimator

    def fit(frame):
        return build_estimator(spec, spec.retrain).fit(frame.X, frame.y)

    everything = fit(data.reference)  # trained on the gate's own rows: it would be favoured
    challenger = fit(data.train)
    gates = GatesSpec(bootstrap=200, reference_tolerance=0.02)
    fair = judge(gates, "binary", 1, data.holdout, data.reference, challenger, everything, 0)
    unfair = judge(gates, "binary", 1, data.holdout, data.reference, challenger, everything, 0,
                   champion_held_out_reference=False)  # fmt: skip
    assert "champion" in fair["verdicts"]["reference"]  # scored on the slice
    assert unfair["verdicts"]["reference"]["passed"]
    assert unfair["verdicts"]["reference"]["judged"] is False
