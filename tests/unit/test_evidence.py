"""An alert's evidence against oracles: the segments behind an accuracy drop (pandas for
the per-segment rates, scipy's Welch test, statsmodels' Holm correction), the change
point (a brute-force least-squares split), no segment on a stable stream, and the
evidence reaching the alert the pipeline sends."""

from __future__ import annotations

import json

import msgspec
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from driftd.config import load_config
from driftd.daemon.catalog import ModelCatalog
from driftd.daemon.embedded import build_pipeline, run_messages
from driftd.detectors.monitor import ModelMonitor
from driftd.detectors.segments import ALPHA, MIN_SEGMENT
from driftd.events import Label, Prediction

CLINICS = np.array(["a", "b", "c", "d"])


def _rows(rng: np.random.Generator, n: int, broken_from: int | None = None) -> pd.DataFrame:
    """A binary model right 90% of the time; from ``broken_from`` on, wrong 60% of the
    time for clinic b (a quarter of the traffic), unchanged elsewhere."""
    age = rng.normal(50, 12, n)
    clinic = rng.choice(CLINICS, n)
    sex = np.where(rng.random(n) < 0.5, "f", "m")
    label = (rng.random(n) < 0.4).astype(int)
    error = rng.random(n) < 0.1
    if broken_from is not None:
        late = np.arange(n) >= broken_from
        error = np.where(late & (clinic == "b"), rng.random(n) < 0.6, error)
    prediction = np.where(error, 1 - label, label)
    return pd.DataFrame({"age": age, "clinic": clinic, "sex": sex, "label": label,
                         "prediction": prediction})  # fmt: skip


def _config(tmp_path, rng, reference: pd.DataFrame | None = None) -> object:
    (_rows(rng, 4000) if reference is None else reference).to_csv(
        tmp_path / "reference.csv", index=False)  # fmt: skip
    (tmp_path / "driftd.yaml").write_text(
        "models:\n  m:\n    task: binary\n"
        "    features: {age: numeric, clinic: categorical}\n"
        "    sensitive_attributes: [sex]\n"
        "    reference: {path: reference.csv, score_column: null}\n"
        "runtime: {state_dir: state}\n"
    )
    return load_config(tmp_path / "driftd.yaml")


def _feed(monitor: ModelMonitor, rows: pd.DataFrame, lag: np.ndarray) -> list[int]:
    """Predictions in order, each label ``lag[i]`` events later; returns the join order."""
    due: dict[int, list[int]] = {}
    joined = []
    for i in range(len(rows) + int(lag.max()) + 1):
        t = 1.8e9 + i
        if i < len(rows):
            row = rows.iloc[i]
            monitor.on_prediction(Prediction(
                event_id=f"p{i}", model_id="m", timestamp=t,
                features={"age": float(row.age), "clinic": row.clinic},
                attributes={"sex": row.sex}, prediction=int(row.prediction)))  # fmt: skip
            due.setdefault(i + int(lag[i]), []).append(i)
        for j in due.pop(i, []):
            monitor.on_label(Label(event_id=f"p{j}", model_id="m", timestamp=t,
                                   label=int(rows.label.iloc[j])))  # fmt: skip
            joined.append(j)
    return joined


def _binned(reference: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    bins = [-np.inf, *np.quantile(reference.age, [0.25, 0.5, 0.75]), np.inf]
    return frame.assign(loss=(frame.prediction != frame.label).astype(float),
                        age_bin=pd.cut(frame.age, bins, right=False, labels=False))  # fmt: skip


def _oracle_segments(ref: pd.DataFrame, win: pd.DataFrame) -> list[tuple]:
    """(dimension, value, now, before, Holm p) per candidate, from pandas and scipy."""
    rows = []
    for column in ("sex", "clinic", "age_bin"):
        for value in sorted(set(ref[column]) | set(win[column])):
            a = win.loss[win[column] == value].to_numpy()
            b = ref.loss[ref[column] == value].to_numpy()
            if len(a) < MIN_SEGMENT or len(b) < MIN_SEGMENT:
                continue
            p = stats.ttest_ind(a, b, equal_var=False).pvalue
            rows.append((column, value, a.mean(), b.mean(), p))
    adjusted = multipletests([r[4] for r in rows], method="holm")[1]
    return [(*r[:4], q) for r, q in zip(rows, adjusted, strict=True)]


def test_the_segments_behind_an_accuracy_drop_equal_the_oracle(tmp_path):
    rng = np.random.default_rng(16)
    config = _config(tmp_path, rng)
    monitor = ModelCatalog(config).new_monitor("m")
    rows = _rows(rng, 3000, broken_from=2200)
    joined = _feed(monitor, rows, rng.integers(1, 60, len(rows)))
    evidence = monitor.evidence("accuracy", monitor.readings(1.8e9 + 4000))

    window = rows.iloc[joined[-1000:]]  # windows.size: the last 1000 joined, in join order
    reference = pd.read_csv(tmp_path / "reference.csv")
    ref, win = _binned(reference, reference), _binned(reference, window)
    oracle = _oracle_segments(ref, win)
    significant = [r for r in oracle if r[4] <= ALPHA and r[2] > r[3]]
    # Both sexes' error rates rose too, but only through clinic b's patients...
    assert {(r[0], r[1]) for r in significant} >= {("clinic", "b"), ("sex", "f"), ("sex", "m")}
    best = max(significant, key=lambda r: (r[2] - r[3]) * (win[r[0]] == r[1]).mean())
    assert best[:2] == ("clinic", "b")
    # ...and outside clinic b nothing moved: one segment listed, the cause.
    rest = _oracle_segments(ref[ref.clinic != "b"], win[win.clinic != "b"])
    assert not [r for r in rest if r[4] <= ALPHA and r[2] > r[3]]
    assert [(s.dimension, s.value) for s in evidence.segments] == [("clinic", "b")]
    (segment,) = evidence.segments
    _, _, now, before, p = best
    assert segment.now == pytest.approx(now, abs=1e-12)
    assert segment.reference == pytest.approx(before, abs=1e-12)
    assert segment.p_value == pytest.approx(p, rel=1e-9)
    assert segment.count == int((window.clinic == "b").sum())
    assert segment.share == pytest.approx(segment.count / 1000, abs=1e-12)
    assert segment.measure == "error rate"
    # Every other candidate the oracle found is either not significant or got better.
    assert evidence.segments_note == ""

    # The change point: the least-squares split of the window's loss, by brute force.
    loss = (window.prediction != window.label).to_numpy(float)
    cost = [((loss[:k] - loss[:k].mean()) ** 2).sum() + ((loss[k:] - loss[k:].mean()) ** 2).sum()
            for k in range(30, len(loss) - 29)]  # fmt: skip
    split = 30 + int(np.argmin(cost))
    first_after = window.index[split]  # the prediction's number = its time offset
    bridge = np.abs(np.cumsum(loss - loss.mean())).max() / (loss.std() * np.sqrt(len(loss)))
    assert evidence.started.p_value == pytest.approx(stats.kstwobign.sf(bridge), rel=1e-9)
    assert evidence.started.within and evidence.started.p_value < ALPHA
    assert evidence.started.events_ago == len(loss) - split
    assert evidence.started.event_time == 1.8e9 + first_after
    assert evidence.started.before == pytest.approx(loss[:split].mean(), abs=1e-12)
    # And it is where the stream broke (at prediction 2200).
    assert abs(first_after - 2200) < 150, first_after


def test_a_stable_stream_lists_no_segment(tmp_path):
    """Family-wise error ALPHA=0.01 over ~14 candidate segments: across 30 stable
    windows the expected number listing any segment is 0.3; more than 2 fails."""
    rng = np.random.default_rng(7)
    config = _config(tmp_path, rng)
    catalog = ModelCatalog(config)
    listed = 0
    for _ in range(30):
        monitor = catalog.new_monitor("m")
        _feed(monitor, _rows(rng, 1000), rng.integers(1, 20, 1000))
        evidence = monitor.evidence("accuracy", monitor.readings(1.8e9 + 2000))
        listed += bool(evidence.segments)
        assert evidence.segments or evidence.segments_note.startswith("no segment moved")
    assert listed <= 2, listed


def test_thin_segments_are_never_listed(tmp_path):
    rng = np.random.default_rng(3)
    config = _config(tmp_path, rng)
    monitor = ModelCatalog(config).new_monitor("m")
    rows = _rows(rng, 40, broken_from=0)  # clinic b: ~10 events, all it has
    _feed(monitor, rows, np.ones(40, int))
    evidence = monitor.evidence("accuracy", monitor.readings(1.8e9 + 100))
    assert evidence.segments == []
    assert evidence.started is None  # under 2 x 30 events: no change point claimed


def test_a_window_wholly_after_the_change_claims_no_change_point_inside(tmp_path):
    rng = np.random.default_rng(8)
    monitor = ModelCatalog(_config(tmp_path, rng)).new_monitor("m")
    rows = _rows(rng, 3000, broken_from=1000)
    joined = _feed(monitor, rows, rng.integers(1, 20, 3000))
    evidence = monitor.evidence("accuracy", monitor.readings(1.8e9 + 4000))
    started = evidence.started
    assert not started.within and started.p_value > ALPHA
    assert started.event_time == 1.8e9 + joined[-1000]  # the window's first event
    assert [(s.dimension, s.value) for s in evidence.segments] == [("clinic", "b")]
    assert any(line.startswith("Start not located ") for line in evidence.lines())


def test_the_alert_the_pipeline_sends_carries_its_evidence(tmp_path):
    rng = np.random.default_rng(21)
    _config(tmp_path, rng)
    rows = _rows(rng, 8000, broken_from=4000)
    events, due = [], {}
    for i in range(len(rows) + 101):
        t = 1.8e9 + i
        if i < len(rows):
            row = rows.iloc[i]
            events.append({"type": "prediction", "event_id": f"p{i}", "model_id": "m",
                           "timestamp": t, "features": {"age": float(row.age),
                                                        "clinic": row.clinic},
                           "attributes": {"sex": row.sex},
                           "prediction": int(row.prediction)})  # fmt: skip
            due.setdefault(i + int(rng.integers(1, 101)), []).append(i)
        for j in due.pop(i, []):
            events.append({"type": "label", "event_id": f"p{j}", "model_id": "m",
                           "timestamp": t, "label": int(rows.label.iloc[j])})  # fmt: skip
    pipeline = build_pipeline(load_config(tmp_path / "driftd.yaml"), fresh=True, quiet=True)
    run_messages(pipeline, [(json.dumps(e).encode(), "t", i) for i, e in enumerate(events)])
    fired = [a for a in pipeline.dispatcher.sent
             if a.state == "firing" and a.metric == "accuracy"]  # fmt: skip
    assert fired, [a.summary() for a in pipeline.dispatcher.sent]
    evidence = fired[0].evidence
    assert evidence is not None
    assert [(s.dimension, s.value) for s in evidence.segments][:1] == [("clinic", "b")]
    assert evidence.reference is not None and evidence.effect < 0
    assert evidence.budget == "1 per 1M events"
    # It started at the break, before the rule fired.
    assert evidence.started.within
    assert abs(evidence.started.event_time - (1.8e9 + 4000)) < 300
    assert evidence.started.event_time < fired[0].event_time
    lines = evidence.lines()
    assert any(line.startswith("Segment clinic=b: error rate") for line in lines), lines


def test_the_evidence_survives_a_checkpoint(tmp_path):
    """Segment codes ride with waiting predictions through a checkpoint (as the stores
    encode it, msgspec JSON) and the window's codes come back: same evidence after."""
    rng = np.random.default_rng(5)
    catalog = ModelCatalog(_config(tmp_path, rng))
    monitor = catalog.new_monitor("m")
    rows = _rows(rng, 2100, broken_from=1200)
    _feed(monitor, rows.iloc[:2000], rng.integers(1, 30, 2000))
    for i in range(2000, 2100):  # waiting for their labels at the checkpoint
        row = rows.iloc[i]
        monitor.on_prediction(Prediction(
            event_id=f"p{i}", model_id="m", timestamp=1.8e9 + i,
            features={"age": float(row.age), "clinic": row.clinic},
            attributes={"sex": row.sex}, prediction=int(row.prediction)))  # fmt: skip
    state = msgspec.json.decode(msgspec.json.encode(monitor.snapshot()))
    again = catalog.new_monitor("m")
    again.restore(state)
    for each in (monitor, again):
        for i in range(2000, 2100):
            each.on_label(Label(event_id=f"p{i}", model_id="m", timestamp=1.8e9 + 3000,
                                label=int(rows.label.iloc[i])))  # fmt: skip
    readings = monitor.readings(1.8e9 + 3000)
    assert again.evidence("accuracy", readings) == monitor.evidence("accuracy", readings)
    assert monitor.evidence("accuracy", readings).segments  # not trivially equal


def test_the_features_whose_new_mix_explains_a_falling_estimate(tmp_path):
    """Clinic b is where the model errs (50% vs 10%); its share of traffic rises from a
    quarter to 70%. The driver is clinic, and what its mix explains equals the
    composition effect computed with pandas: sum over clinics of (share now - share on
    the reference) x the reference's accuracy there. The sexes' mix did not move."""
    rng = np.random.default_rng(9)
    reference = _rows(rng, 4000)
    wrong = np.where(reference.clinic == "b", rng.random(4000) < 0.5,
                     rng.random(4000) < 0.1)  # fmt: skip
    reference["prediction"] = np.where(wrong, 1 - reference.label, reference.label)
    monitor = ModelCatalog(_config(tmp_path, rng, reference)).new_monitor("m")
    now = _rows(rng, 1000)
    now["clinic"] = np.where(rng.random(1000) < 0.7, "b", rng.choice(["a", "c", "d"], 1000))
    for i, row in enumerate(now.itertuples()):  # predictions only: no labels yet
        monitor.on_prediction(Prediction(
            event_id=f"p{i}", model_id="m", timestamp=1.8e9 + i,
            features={"age": float(row.age), "clinic": row.clinic},
            attributes={"sex": row.sex}, prediction=int(row.prediction)))  # fmt: skip
    evidence = monitor.evidence("estimated.accuracy", monitor.readings(1.8e9 + 1000))
    accuracy = 1 - (reference.prediction != reference.label).groupby(reference.clinic).mean()
    moved = now.clinic.value_counts(normalize=True) - reference.clinic.value_counts(
        normalize=True)
    expected = float((moved * accuracy).sum())
    assert expected < -0.1
    top = evidence.drivers[0]
    assert top.dimension == "clinic" and top.value == "b"
    assert top.explained == pytest.approx(expected, abs=1e-9)
    assert top.share_now == pytest.approx((now.clinic == "b").mean(), abs=1e-12)
    assert top.accuracy_reference == pytest.approx(accuracy["b"], abs=1e-12)
    assert "sex" not in [d.dimension for d in evidence.drivers[:1]]
    assert any(line.startswith("Driver clinic: its new mix alone moves expected accuracy")
               for line in evidence.lines())  # fmt: skip
