"""Fairness metrics against fairlearn on the same window (tolerance 1e-9)."""

from __future__ import annotations

import numpy as np
import pytest
from fairlearn import metrics as flm

from driftd.detectors.fairness import FairnessWindow

TOL = 1e-9


def _fill(y, y_hat, groups, size=None, min_group_size=1):
    window = FairnessWindow("sex", size or len(y), min_group_size, "selection")
    window.update_many(list(groups), np.asarray(y, float), np.asarray(y_hat, float))
    return window.readings()


@pytest.mark.parametrize("seed", range(5))
def test_equal_to_fairlearn(seed):
    rng = np.random.default_rng(seed)
    n = 600
    groups = rng.choice(["f", "m", "x"], n, p=[0.45, 0.45, 0.1])
    y = rng.integers(0, 2, n)
    bias = np.where(groups == "f", 0.2, 0.0)
    y_hat = (rng.random(n) < 0.5 + bias * y - 0.1).astype(int)
    got = _fill(y, y_hat, groups)
    kw = {"sensitive_features": groups}
    assert got["fairness.sex.demographic_parity_difference"] == pytest.approx(
        flm.demographic_parity_difference(y, y_hat, **kw), abs=TOL
    )
    assert got["fairness.sex.demographic_parity_ratio"] == pytest.approx(
        flm.demographic_parity_ratio(y, y_hat, **kw), abs=TOL
    )
    assert got["fairness.sex.equalized_odds_difference"] == pytest.approx(
        flm.equalized_odds_difference(y, y_hat, **kw), abs=TOL
    )
    assert got["fairness.sex.equal_opportunity_difference"] == pytest.approx(
        flm.equal_opportunity_difference(y, y_hat, **kw), abs=TOL
    )
    frame = flm.MetricFrame(
        metrics={
            "selection_rate": flm.selection_rate,
            "tpr": flm.true_positive_rate,
            "fpr": flm.false_positive_rate,
        },
        y_true=y, y_pred=y_hat, sensitive_features=groups,
    )  # fmt: skip
    for group, row in frame.by_group.iterrows():
        for metric in ("selection_rate", "tpr", "fpr"):
            assert got[f"fairness.sex.group.{group}.{metric}"] == pytest.approx(
                row[metric], abs=TOL
            )
    ratio = got["fairness.sex.disparate_impact"]
    assert got["fairness.sex.four_fifths_rule"] == float(ratio >= 0.8)


def test_min_group_size_gives_no_verdict_for_small_groups():
    rng = np.random.default_rng(9)
    groups = np.array(["f"] * 100 + ["m"] * 100 + ["tiny"] * 5)
    y = rng.integers(0, 2, 205)
    y_hat = np.where(groups == "tiny", 0, rng.integers(0, 2, 205))
    got = _fill(y, y_hat, groups, min_group_size=30)
    big = groups != "tiny"
    expected = flm.demographic_parity_ratio(y[big], y_hat[big], sensitive_features=groups[big])
    assert got["fairness.sex.eligible_groups"] == 2
    assert got["fairness.sex.demographic_parity_ratio"] == pytest.approx(expected, abs=TOL)
    assert got["fairness.sex.group.tiny.count"] == 5  # still reported, just not judged


def test_single_group_and_empty_window_give_no_verdict():
    got = _fill(np.array([1, 0, 1]), np.array([1, 1, 0]), np.array(["f", "f", "f"]))
    assert "fairness.sex.demographic_parity_ratio" not in got
    empty = FairnessWindow("sex", 10, 1, "selection").readings()
    assert empty == {"fairness.sex.eligible_groups": 0.0}
    missing = FairnessWindow("sex", 10, 1, "selection")
    missing.update_many([None], np.array([1.0]), np.array([1.0]))
    assert missing.readings() == {"fairness.sex.eligible_groups": 0.0}
