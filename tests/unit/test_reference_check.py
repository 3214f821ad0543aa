"""`driftd config check` warns when a reference looks in-sample (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest

from driftd.cli.main import main


def _reference(path, rng, in_sample: bool, n: int = 3000) -> None:
    x = rng.normal(0, 1, n)
    score = 1 / (1 + np.exp(-1.5 * x))
    prediction = (score >= 0.5).astype(int)
    label = (rng.random(n) < score).astype(int)  # held out: right as often as scores say
    if in_sample:  # scored on training rows: right more often than the scores claim
        lucky = rng.random(n) < 0.5
        label = np.where(lucky, prediction, label)
    rows = "".join(f"{x[i]},{prediction[i]},{label[i]},{score[i]}\n" for i in range(n))
    path.write_text("x,prediction,label,score\n" + rows)


@pytest.mark.parametrize("in_sample", [False, True])
def test_config_check_warns_about_an_in_sample_reference(tmp_path, capsys, in_sample):
    _reference(tmp_path / "reference.csv", np.random.default_rng(2), in_sample)
    config = tmp_path / "driftd.yaml"
    config.write_text("models:\n  m:\n    task: binary\n    features: {x: numeric}\n"
                      "    reference: reference.csv\n")  # fmt: skip
    assert main(["config", "check", str(config)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out
    assert ("in-sample" in out) == in_sample, out
    if in_sample:
        assert "models.m.reference" in out and "standard deviations" in out
