"""Label join, rule lifecycle with hysteresis, and the label-free accuracy estimate."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from driftd.alerts.model import dedup_key
from driftd.alerts.rules import Rule, RuleEngine
from driftd.detectors.calibration import Calibration
from driftd.detectors.estimate import ExpectedConfusion
from driftd.detectors.join import LabelJoin
from driftd.detectors.records import WaitingPrediction
from driftd.detectors.remembered import digest


def test_join_in_either_order_with_ttl_and_duplicates():
    join = LabelJoin(ttl=100, max_pending=1000)
    assert join.add_prediction("a", 0, "pa") is None
    assert join.add_label("a", 5, 1) == "pa"  # label after prediction
    assert join.add_label("b", 10, 0) is None
    assert join.add_prediction("b", 3, "pb") == 0  # label arrived first
    with pytest.raises(KeyError):
        join.add_label("a", 6, 1)  # duplicate label of a joined event
    with pytest.raises(KeyError):
        join.add_prediction("b", 7, "again")
    join.add_prediction("c", 20, "pc")
    join.add_label("orphan", 30, 1)
    expired, orphans = join.expire(now=200)
    assert expired == ["pc"] and [o[0] for o in orphans] == ["orphan"]
    readings = join.readings()
    assert readings["join.matched"] == 2 and readings["join.expired"] == 1
    assert readings["join.orphans"] == 1 and readings["join.duplicates"] == 2
    assert readings["join.waiting_predictions"] == 0


def test_join_memory_is_bounded():
    join = LabelJoin(ttl=1e9, max_pending=10)
    for i in range(100):
        join.add_prediction(str(i), i, i)
    expired, _ = join.expire(now=100)
    assert len(join.predictions) == 10 and len(expired) == 90


def _rule(**kw):
    base = dict(name="acc", model="m", metric="accuracy", op="<", threshold=0.8, hysteresis=0.02)
    return Rule(**{**base, **kw})


def _key() -> str:
    return dedup_key("m", "acc", "accuracy")


def test_flapping_metric_fires_once_and_resolves_once():
    engine = RuleEngine([_rule()])
    rng = np.random.default_rng(0)
    transitions = []
    # Ten minutes of a metric hovering around its threshold, one reading per second.
    for t in range(600):
        value = 0.8 + rng.uniform(-0.015, 0.015)
        transitions += engine.evaluate("m", {"accuracy": value}, float(t))
    transitions += engine.evaluate("m", {"accuracy": 0.9}, 601.0)
    assert [a.state for a in transitions] == ["firing", "resolved"]
    assert transitions[0].key == transitions[1].key


def test_for_duration_and_guard():
    engine = RuleEngine([_rule(for_seconds=60, guard_metric="labeled", guard_minimum=100)])
    assert engine.evaluate("m", {"accuracy": 0.1, "labeled": 5}, 0) == []  # guarded
    assert engine.evaluate("m", {"accuracy": 0.1, "labeled": 500}, 10) == []  # pending
    assert engine.evaluate("m", {"accuracy": 0.1, "labeled": 500}, 50) == []
    fired = engine.evaluate("m", {"accuracy": 0.1, "labeled": 500}, 70)
    assert [a.state for a in fired] == ["firing"] and fired[0].first_event_time == 10
    assert engine.evaluate("m", {"accuracy": 0.1, "labeled": 500}, 80) == []  # deduplicated


def test_glob_rules_make_one_alert_per_metric():
    engine = RuleEngine([_rule(name="d", metric="drift.*.psi", op=">=", threshold=0.2)])
    alerts = engine.evaluate("m", {"drift.a.psi": 0.5, "drift.b.psi": 0.1, "drift.c.psi": 0.3}, 0)
    assert sorted(a.metric for a in alerts) == ["drift.a.psi", "drift.c.psi"]
    assert len({a.key for a in alerts}) == 2


def test_rule_state_survives_restore():
    engine = RuleEngine([_rule()])
    engine.evaluate("m", {"accuracy": 0.5}, 0)
    again = RuleEngine([_rule()])
    again.restore(engine.snapshot())
    assert again.evaluate("m", {"accuracy": 0.5}, 1) == []  # still firing, no second notice
    assert [a.state for a in again.evaluate("m", {"accuracy": 0.95}, 2)] == ["resolved"]


def test_expected_confusion_matches_batch_formula_and_tracks_realised_accuracy():
    rng = np.random.default_rng(1)
    ref_scores = rng.random(5000)
    ref_labels = (rng.random(5000) < ref_scores**2).astype(float)  # miscalibrated scores
    calibration = Calibration.fit(ref_scores, ref_labels)
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(ref_scores, ref_labels)
    scores = rng.random(3000)
    assert np.allclose(calibration.many(scores), iso.predict(scores), atol=1e-12)
    estimate = ExpectedConfusion(calibration)
    records = [WaitingPrediction(float(i * 7), float(s >= 0.5), float(s))
               for i, s in enumerate(scores)]  # fmt: skip
    times = np.array([r.event_time for r in records])
    for start in range(0, 3000, 128):  # in batches, as the monitor feeds them
        rows, _ = estimate.contributions(records[start : start + 128])
        estimate.pending.add_many(rows, times[start : start + 128])
    p = iso.predict(scores)
    predicted = scores >= 0.5
    expected_accuracy = np.mean(np.where(predicted, p, 1 - p))
    accuracy = estimate.readings(None)["estimated.accuracy"]
    assert accuracy == pytest.approx(expected_accuracy, abs=1e-9)
    realised = np.mean(predicted == (rng.random(3000) < scores**2))
    assert abs(accuracy - realised) < 0.03  # ~3 sd at n=3000
    rows, _ = estimate.contributions(records[:1000])
    estimate.pending.add_many(rows, times[:1000], -1)
    assert estimate.readings(None)["estimated.pending"] == 2000
    rest = np.where(predicted, p, 1 - p)[1000:].mean()
    assert estimate.readings(None)["estimated.accuracy"] == pytest.approx(rest, abs=1e-9)


def test_join_snapshot_round_trip_and_the_pre_0_6_format():
    join = LabelJoin(ttl=100, max_pending=1000)
    join.add_prediction("a", 1.0, "pa")
    join.add_label("a", 2.0, 1)
    join.add_label("b", 3.0, 0)
    state = join.snapshot()
    again = LabelJoin(ttl=100, max_pending=1000)
    again.restore(state)
    assert again.snapshot() == state
    with pytest.raises(KeyError):  # "a" is remembered as joined: a duplicate
        again.add_label("a", 4.0, 1)
    old = {k: v for k, v in state.items() if not k.startswith("joined_")}
    old["joined"] = [["a", 2.0]]
    legacy = LabelJoin(ttl=100, max_pending=1000)
    legacy.restore(old)
    assert legacy.snapshot() == state


def test_joined_ids_are_remembered_up_to_a_bound():
    join = LabelJoin(ttl=1e9, max_pending=1000, remember=3)
    for i in range(5):
        join.add_prediction(f"e{i}", float(i), "p")
        join.add_label(f"e{i}", float(i), 1)
    remembered = [i for i in range(5) if digest(f"e{i}") in join.joined]
    assert remembered == [2, 3, 4]  # the oldest forgotten first
    with pytest.raises(KeyError):
        join.add_label("e4", 9.0, 1)  # still remembered: a duplicate
    assert join.add_label("e0", 9.0, 1) is None  # forgotten: waits as a new label
    assert join.counts["duplicates"] == 1


def test_a_firing_alert_that_worsens_is_told_again_one_severity_up():
    engine = RuleEngine([_rule(severity="warning", escalate_step=0.1)])
    seen = []
    for t, value in enumerate([0.75, 0.70, 0.66, 0.64, 0.60, 0.50, 0.53, 0.42, 0.30]):
        seen += [(a.state, a.severity, a.escalation, a.value, a.fired_value)
                 for a in engine.evaluate("m", {"accuracy": value}, float(t))]  # fmt: skip
    assert seen == [
        ("firing", "warning", 0, 0.75, None),
        ("firing", "critical", 1, 0.64, 0.75),  # 0.11 worse than told
        ("firing", "critical", 2, 0.50, 0.75),  # 0.14 worse than 0.64; critical at most
        ("firing", "critical", 3, 0.30, 0.75),  # 0.42 was only 0.08 worse than 0.50
    ]
    again = RuleEngine([_rule(severity="warning", escalate_step=0.1)])
    again.restore(engine.snapshot())  # what was told survives a restart
    assert again.evaluate("m", {"accuracy": 0.25}, 10.0) == []
    (resolved,) = again.evaluate("m", {"accuracy": 0.95}, 11.0)
    assert (resolved.state, resolved.severity) == ("resolved", "critical")
    assert [a.severity for a in again.evaluate("m", {"accuracy": 0.7}, 12.0)] == ["warning"]


def test_a_pre_0_9_rule_state_restores_without_escalating():
    engine = RuleEngine([_rule(escalate_step=0.1)])
    engine.restore({_key(): ["firing", 3.0]})
    assert engine.evaluate("m", {"accuracy": 0.1}, 4.0) == []
    assert [a.state for a in engine.evaluate("m", {"accuracy": 0.95}, 5.0)] == ["resolved"]


@pytest.mark.parametrize(
    ("op", "history", "current", "worst"),
    [("<", [(0.0, 0.5), (5.0, 0.6), (6.0, None), (7.0, 0.4)], 0.45, 0.4),
     (">", [(5.0, 0.3), (7.0, 0.2)], 0.25, 0.3),
     ("<", [], None, 0.7)],
)  # fmt: skip
def test_standing_puts_the_current_value_first_with_the_worst_since_firing(
    op, history, current, worst
):
    from driftd.alerts.standing import standing

    now = standing(op, 0.7 if op == "<" else 0.15, 5.0, history, current)
    assert (now.current, now.worst) == (current, worst)  # 0.5 at t=0 is before the episode
    assert now.text().startswith("-" if current is None else f"{current:.4g} now")


def test_a_bound_that_tightens_does_not_escalate_a_real_fall_does():
    """The four-fifths rule on Katz bounds: at a constant ratio of 0.33 the upper bound
    falls from ~0.9 to ~0.37 as groups fill, which is information, not a regression; a
    fall of the true ratio to 0.17 is escalated (once the bounds can tell)."""
    from driftd.detectors.intervals import ratio_lower, ratio_upper

    rule = _rule(name="ff", metric="ratio_upper", threshold=0.8, escalate_step=0.05,
                 escalate_from="ratio_lower", severity="warning")  # fmt: skip
    engine = RuleEngine([rule])
    seen = []
    for n in range(50, 4001, 50):  # per group; men selected 60%, women 20% then 10%
        women = 0.2 if n <= 2000 else 0.1
        k1, k2 = round(women * n), round(0.6 * n)
        bounds = {"ratio_upper": ratio_upper(k1, n, k2, n),
                  "ratio_lower": ratio_lower(k1, n, k2, n)}  # fmt: skip
        seen += [(n, a.escalation) for a in engine.evaluate("m", bounds, float(n))]
    assert seen[0] == (50, 0)  # fired at once
    escalations = [n for n, level in seen if level]
    assert escalations and all(n > 2000 for n in escalations), seen


def test_alerts_firing_at_a_restore_are_handed_back_once_and_only_while_firing():
    """After a restart the alert manager is new: the engine hands it the alerts that were
    firing and still are (so repeats and Alertmanager re-sends go on), without a new
    transition for the logs."""
    engine = RuleEngine([_rule(), _rule(name="acc2")])
    assert [a.state for a in engine.evaluate("m", {"accuracy": 0.7}, 0.0)] == ["firing"] * 2
    again = RuleEngine([_rule(), _rule(name="acc2")])
    again.restore(engine.snapshot())
    assert again.resumed("m", {}, 1.0) == []  # no reading of the metric yet: keep waiting
    assert again.evaluate("m", {"accuracy": 0.71}, 2.0) == []  # still firing: no transition
    (resumed, other) = again.resumed("m", {"accuracy": 0.71}, 2.0)
    assert (resumed.state, resumed.key, resumed.value, resumed.fired_value) == (
        "firing", _key(), 0.71, None)  # fmt: skip
    assert resumed.first_event_time == 0.0 and other.rule == "acc2"
    assert again.resumed("m", {"accuracy": 0.71}, 3.0) == []  # once
    third = RuleEngine([_rule()])
    third.restore(engine.snapshot())
    assert [a.state for a in third.evaluate("m", {"accuracy": 0.95}, 2.0)] == ["resolved"]
    assert third.resumed("m", {"accuracy": 0.95}, 2.0) == []  # resolved: nothing to resume
