"""Issue 14's hidden regression, replayed: a model unfair from the start (women
selected a third as often as men in the reference) loses half of its positive
decisions for women. The four-fifths alert was firing all along; the regression must
still page (the group's selection test at once, then a relative rule and an
escalation), and the summary must show the value now, not the value it fired at."""

from __future__ import annotations

import json

import numpy as np

from driftd.cli.summary import summarize
from driftd.config import load_config
from driftd.daemon.embedded import build_pipeline, run_messages

N, CHANGE = 12_000, 6_000


def _rows(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    x = rng.normal(0, 1, n)
    score = 1 / (1 + np.exp(-1.5 * x))
    sex = np.where(rng.random(n) < 0.5, "f", "m")
    prediction = (score >= 0.5).astype(int)
    held_back = (sex == "f") & (rng.random(n) < 0.67)  # unfair from the start
    return {"x": x, "score": score, "sex": sex, "label": (rng.random(n) < score).astype(int),
            "prediction": np.where(held_back, 0, prediction)}  # fmt: skip


def test_a_regression_behind_a_firing_fairness_alert_still_pages(tmp_path):
    rng = np.random.default_rng(14)
    ref = _rows(rng, 4000)
    (tmp_path / "reference.csv").write_text("x,sex,prediction,label,score\n" + "".join(
        f"{ref['x'][i]},{ref['sex'][i]},{ref['prediction'][i]},{ref['label'][i]},"
        f"{ref['score'][i]}\n" for i in range(4000)))  # fmt: skip
    (tmp_path / "driftd.yaml").write_text(
        "models:\n  m:\n    task: binary\n    features: {x: numeric}\n"
        "    sensitive_attributes: [sex]\n    reference: reference.csv\n"
        "runtime: {state_dir: state}\n"
    )
    rows = _rows(rng, N)
    women = rows["sex"] == "f"
    dropped = women & (rows["prediction"] == 1) & (rng.random(N) < 0.5)
    dropped[:CHANGE] = False
    rows["prediction"] = np.where(dropped, 0, rows["prediction"])
    events, due = [], {}
    for i in range(N + 201):
        t = 1.8e9 + i
        if i < N:
            events.append({"type": "prediction", "event_id": f"p{i}", "model_id": "m",
                           "timestamp": t, "features": {"x": float(rows["x"][i])},
                           "prediction": int(rows["prediction"][i]),
                           "score": float(rows["score"][i]),
                           "attributes": {"sex": str(rows["sex"][i])}})  # fmt: skip
            due.setdefault(i + int(rng.integers(1, 201)), []).append(i)
        for j in due.pop(i, []):
            events.append({"type": "label", "event_id": f"p{j}", "model_id": "m",
                           "timestamp": t, "label": int(rows["label"][j])})  # fmt: skip
    pipeline = build_pipeline(load_config(tmp_path / "driftd.yaml"), fresh=True, quiet=True)
    run_messages(pipeline, [(json.dumps(e).encode(), "t", i) for i, e in enumerate(events)])

    sent = list(pipeline.dispatcher.sent)
    changed_at = 1.8e9 + CHANGE
    four_fifths = [a for a in sent if a.rule == "fairness-sex-four-fifths"]
    assert four_fifths[0].state == "firing" and four_fifths[0].event_time < changed_at
    after = [a for a in sent if a.event_time >= changed_at and a.state == "firing"
             and a.severity == "critical" and a.rule.startswith("fairness-sex")]  # fmt: skip
    rules = {a.rule for a in after}
    assert "fairness-sex-parity-worsened" in rules, [a.summary() for a in after]
    assert any(a.rule == "fairness-sex-four-fifths" and a.escalation >= 1 for a in after), [
        a.summary() for a in sent if a.rule.startswith("fairness")
    ]
    # The fast signal: women's selection rate, tested on the predictions themselves.
    fell = [a for a in sent if a.rule == "fairness-sex-selection-fell" and a.state == "firing"]
    assert [a.metric for a in fell] == ["fairness.sex.group.f.selection_fall.alarm"]
    # ~1,200 predictions (600 women): a selection rate of 0.165 halved, at 1 per 1M events
    assert changed_at <= fell[0].event_time < changed_at + 1500, fell[0].event_time - changed_at
    (entry,) = [e for e in summarize(pipeline)["alerts"] if e["rule"] == "fairness-sex-four-fifths"]
    assert entry["state"] == "firing"
    assert entry["current"] < entry["at_firing"] - 0.1  # the value now, far below the first
    assert entry["worst"] <= entry["current"]
