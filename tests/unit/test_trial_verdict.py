"""The live trial's verdict on joined rows: which rows are whose, the fairness gate on
them (gaps against fairlearn), and each way a trial ends."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from fairlearn.metrics import MetricFrame, demographic_parity_difference
from sklearn.metrics import accuracy_score

from driftd.config import load_config_data
from driftd.retrain import trial

CONFIG = """
models:
  credit:
    task: binary
    classes: [0, 1]
    positive_class: 1
    features: {x: numeric}
    sensitive_attributes: [sex]
    retrain:
      estimator: sklearn.linear_model.LogisticRegression
      live: {mode: ab, min_events: 200}
      gates: {fairness_tolerance: 0.05}
"""


def load_config_text(text: str):
    return load_config_data(yaml.safe_load(text))


@pytest.fixture(scope="module")
def spec():
    return load_config_text(CONFIG).models["credit"]


def record(spec, mode: str = "ab", since: float | None = 100.0) -> dict:
    return trial.open_record(spec, 2, 1, "0" * 64, "run", since, now=1000.0) | {"mode": mode}


def rows_of(version: str, y: np.ndarray, p: np.ndarray, sex: np.ndarray, start: float,
            shadow: bool = False, ids: list[str] | None = None) -> list[dict]:  # fmt: skip
    out = []
    for i in range(len(y)):
        event_id = ids[i] if ids else f"{version}-{i}"
        row = {"t": start + i, "x": {"x": 0.0}, "a": {"sex": str(sex[i])}, "v": version,
               "p": int(p[i]), "y": int(y[i]), "i": event_id}  # fmt: skip
        if shadow:
            row["s"] = True
        out.append(row)
    return out


def arm(rng, n: int, accuracy_by_sex: dict[str, float]):
    sex = rng.choice(list(accuracy_by_sex), n)
    y = rng.integers(0, 2, n)
    right = rng.random(n) < np.vectorize(accuracy_by_sex.get)(sex)
    return y, np.where(right, y, 1 - y), sex


def test_ab_promotes_a_clear_winner_and_its_numbers_are_sklearn_and_fairlearns(spec):
    rng = np.random.default_rng(0)
    new = arm(rng, 3000, {"f": 0.9, "m": 0.9})
    old = arm(rng, 3000, {"f": 0.7, "m": 0.7})
    before = rows_of("1", *arm(rng, 500, {"f": 0.1, "m": 0.1}), start=-500.0)  # the run's
    rows = before + rows_of("2", *new, start=200.0) + rows_of("1", *old, start=200.0)
    verdict = trial.judge(spec, record(spec), rows, now=1001.0)
    assert verdict.decision == "promote", verdict.why
    expected = accuracy_score(new[0], new[1]) - accuracy_score(old[0], old[1])
    assert verdict.interval.estimate == pytest.approx(expected, abs=1e-12)
    assert (verdict.interval.challenger_events, verdict.interval.champion_events) == (3000, 3000)
    # The gaps are fairlearn's: accuracy difference between groups, demographic parity.
    for (y, p, sex), side in ((new, "challenger"), (old, "champion")):
        frame = MetricFrame(metrics=accuracy_score, y_true=y, y_pred=p, sensitive_features=sex)
        gaps = verdict.fairness[side]
        assert gaps["sex.accuracy_difference"] == pytest.approx(frame.difference(), abs=1e-12)
        assert gaps["sex.demographic_parity_difference"] == pytest.approx(
            demographic_parity_difference(y, p, sensitive_features=sex), abs=1e-12)


def test_ab_a_winner_that_is_much_less_fair_is_rejected(spec):
    rng = np.random.default_rng(1)
    new = arm(rng, 4000, {"f": 0.75, "m": 0.99})  # better overall, far worse for f
    old = arm(rng, 4000, {"f": 0.8, "m": 0.8})
    rows = rows_of("2", *new, start=200.0) + rows_of("1", *old, start=200.0)
    verdict = trial.judge(spec, record(spec), rows, now=1001.0)
    assert verdict.decision == "reject" and "less fair" in verdict.why
    assert verdict.interval.low > 0
    growth = verdict.fairness["growth"]["sex.accuracy_difference"]
    assert growth["low"] > 0.05


def test_ab_a_clear_loser_is_rejected_before_the_deadline(spec):
    rng = np.random.default_rng(2)
    rows = (rows_of("2", *arm(rng, 2000, {"f": 0.6, "m": 0.6}), start=200.0)
            + rows_of("1", *arm(rng, 2000, {"f": 0.8, "m": 0.8}), start=200.0))  # fmt: skip
    verdict = trial.judge(spec, record(spec), rows, now=1001.0)
    assert verdict.decision == "reject" and "below" in verdict.why


def test_shadow_pairs_by_event_id_and_ignores_the_unpaired(spec):
    rng = np.random.default_rng(3)
    y, old_p, sex = arm(rng, 2000, {"f": 0.75, "m": 0.75})
    fixed = (old_p != y) & (rng.random(2000) < 0.5)
    new_p = np.where(fixed, y, old_p)
    ids = [f"e{i}" for i in range(2000)]
    champion = rows_of("1", y, old_p, sex, start=200.0, ids=ids)
    shadow = rows_of("2", y[:1500], new_p[:1500], sex[:1500], start=200.0, shadow=True,
                     ids=ids[:1500])  # fmt: skip
    verdict = trial.judge(spec, record(spec, "shadow"), champion + shadow, now=1001.0)
    assert verdict.decision == "promote", verdict.why
    assert verdict.interval.challenger_events == 1500
    expected = accuracy_score(y[:1500], new_p[:1500]) - accuracy_score(y[:1500], old_p[:1500])
    assert verdict.interval.estimate == pytest.approx(expected, abs=1e-12)


def test_waiting_then_the_deadline(spec):
    rec = record(spec)
    verdict = trial.judge(spec, rec, [], now=1001.0)
    assert verdict.decision == "continue" and "no labeled events of version 2" in verdict.why
    assert "model_version" in verdict.why
    verdict = trial.judge(spec, record(spec, "shadow"), [], now=1001.0)
    assert "shadow callback" in verdict.why
    rng = np.random.default_rng(4)
    rows = rows_of("2", *arm(rng, 50, {"f": 0.8, "m": 0.8}), start=200.0)
    rows += rows_of("1", *arm(rng, 50, {"f": 0.8, "m": 0.8}), start=200.0)
    verdict = trial.judge(spec, rec, rows, now=1001.0)
    assert verdict.decision == "continue" and "needs 200 events per arm" in verdict.why
    verdict = trial.judge(spec, rec, rows, now=rec["deadline_at"])
    assert verdict.decision == "reject" and "deadline" in verdict.why


def test_a_live_trial_is_configured_or_refused_by_name():
    from driftd.errors import ConfigError

    for bad, key in (("{mode: canary}", "live.mode"), ("{mode: ab, share: 1.5}", "live.share"),
                     ("{mode: ab, min_events: 5}", "live.min_events"),
                     ("{mode: ab, deadline: soon}", "live.deadline")):  # fmt: skip
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            load_config_text(CONFIG.replace("{mode: ab, min_events: 200}", bad))
