"""The calibrated sequential tests: run lengths against brute-force simulation, limits,
batching, the false-alarm budget, the burn-in baseline and evidence-gated rules."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from driftd.alerts.rules import Rule, RuleEngine
from driftd.budgets import events_per_false_alarm, events_per_second, per_decision
from driftd.detectors import readings as names
from driftd.detectors.cusum import RateCusum, calibrate_rate, rate_run_length, rate_steps
from driftd.detectors.rate_test import RateTest, observed
from driftd.errors import ConfigError


def _simulated_run_lengths(p: float, cusum: RateCusum, events: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    alarms = cusum.update_many(rng.random(events) < p)
    return np.diff([-1, *alarms])


@pytest.mark.parametrize(
    ("p0", "p1", "arl0"), [(0.1, 0.2, 500), (0.02, 0.1, 2000), (0.3, 0.4, 300), (0.545, 0.595, 400)]
)
def test_the_chain_gives_the_run_length_a_simulation_measures(p0, p1, arl0):
    """Oracle: brute-force simulation of the same statistic on i.i.d. Bernoulli(p0)
    values; the chain's exact ARL0 lies within 4 standard errors of the simulated mean."""
    cusum = RateCusum(p0, p1, arl0)
    runs = _simulated_run_lengths(p0, cusum, 4_000_000, seed=7)
    error = runs.std() / np.sqrt(len(runs))
    assert len(runs) > 1000
    assert abs(runs.mean() - cusum.expected_delay(p0)) < 4 * error
    # and out of control, the delay at p1
    delayed = RateCusum(p0, p1, arl0)
    runs = _simulated_run_lengths(p1, delayed, 400_000, seed=8)
    assert abs(runs.mean() - delayed.expected_delay(p1)) < 4 * runs.std() / np.sqrt(len(runs))


def test_the_calibrated_limit_is_the_smallest_that_reaches_the_target():
    for p0, p1 in ((0.05, 0.1), (0.545, 0.595)):  # γ = 1/m, and γ above 1/2
        up, down = rate_steps(p0, p1)
        limit = calibrate_rate(p0, up, down, 1e6)
        assert rate_run_length(p0, up, down, limit) >= 1e6 > rate_run_length(p0, up, down,
                                                                             limit - 1)  # fmt: skip


def test_a_budget_of_a_million_events_is_calibrated_without_simulation():
    cusum = RateCusum(0.0005, 0.01, 40e6)  # 40 tests sharing 1 per 1M events
    assert cusum.expected_delay(cusum.p0) >= 40e6
    assert cusum.expected_delay(0.3) < 20  # a flood is still caught at once


def test_batches_do_not_change_where_alarms_are_raised():
    rng = np.random.default_rng(3)
    values = rng.random(50_000) < np.where(np.arange(50_000) < 25_000, 0.05, 0.15)
    whole = RateCusum(0.05, 0.1, 2000)
    expected = whole.update_many(values)
    split = RateCusum(0.05, 0.1, 2000)
    got, start = [], 0
    for size in rng.integers(1, 3000, 200):
        got += [start + i for i in split.update_many(values[start : start + size])]
        start += size
        if start >= len(values):
            break
    assert got == expected and len(expected) > 10
    restored = RateCusum(0.05, 0.1, 2000)
    restored.restore(whole.snapshot())
    assert restored.snapshot() == whole.snapshot()


@pytest.mark.parametrize("budget", ["1 per 20k events", "1 per 50k events", "3 per 300k events"])
def test_on_a_stable_stream_false_alarms_keep_the_budget(budget):
    """Property: a model with 4 calibrated tests sharing the budget, each fed its own
    stable stream with a known rate; the false alarms of all four together, per event,
    are within 2x of the budget (the calibration is exact, so close to 1x)."""
    arl0 = events_per_false_alarm(budget)
    events = int(arl0 * 60)
    rng = np.random.default_rng(11)
    rates = [0.01, 0.05, 0.2, 0.4]
    alarms = 0
    for rate in rates:
        cusum = RateCusum(rate, min(rate * 2, rate + 0.1), per_decision(arl0, len(rates)))
        alarms += len(cusum.update_many(rng.random(events) < rate))
    assert 60 / 2 <= alarms <= 60 * 2


def test_budgets_parse_and_bad_ones_name_their_key():
    assert events_per_false_alarm("1 per 1M events") == 1e6
    assert events_per_false_alarm("5 per 2.5m events") == 5e5
    for bad in ("often", "0 per 1M events", "1 per 10 events", "1 per 1M", "1 per 90d",
                "1 per 1s"):  # 90d without a traffic; 1s: a false alarm every 10 events
        with pytest.raises(ConfigError) as caught:
            events_per_false_alarm(bad, "alerting.false_alarm_budget", rate=None
                                   if bad == "1 per 90d" else 10.0)  # fmt: skip
        assert caught.value.path == "alerting.false_alarm_budget"
    per_day = events_per_second("50k per day")
    assert per_day == events_per_second("50k events per 1d") == pytest.approx(50e3 / 86400)
    assert events_per_false_alarm("1 per 90d", rate=per_day) == pytest.approx(4.5e6)
    assert events_per_false_alarm("2 per week", rate=1.0) == pytest.approx(302_400)


def test_a_budget_in_time_needs_the_models_traffic(tmp_path):
    from driftd.config import load_config_data
    from driftd.detectors.context import ModelContext
    from driftd.detectors.registry import build_detectors

    model = {"task": "binary", "features": {"x": "numeric"}}
    data = {"models": {"m": model}, "alerting": {"false_alarm_budget": "1 per 90d"}}
    with pytest.raises(ConfigError) as caught:
        load_config_data(data, tmp_path)
    assert caught.value.path == "models.m.traffic" and "budget in time" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        load_config_data({"models": {"m": {**model, "traffic": "lots"}}}, tmp_path)
    assert caught.value.path == "models.m.traffic"
    config = load_config_data({**data, "models": {"m": {**model, "traffic": "50k per day"}}},
                              tmp_path)  # fmt: skip
    spec = config.models["m"]
    detectors = build_detectors(ModelContext.prepare("m", spec, None))
    tests = [t for d in detectors for t in getattr(getattr(d, "tests", None), "tests", {}).values()]
    decisions = sum(d.decisions() for d in detectors)
    assert tests and all(t.arl0 == pytest.approx(4.5e6 * decisions) for t in tests)


@pytest.mark.parametrize("arl0", [1e5, 1e6, 2.8e7])
@pytest.mark.parametrize("rate", [0.02, 0.22])
def test_almost_every_deployment_keeps_its_budget_whatever_its_burn_in(arl0, rate):
    """Property: 60 deployments each learn the baseline from their own burn-in of 1,000;
    each one's false-alarm rate is exact (the chain at the true rate). The baseline
    taken at its 95% quantile keeps the budget in 95% of deployments (at least 90% of
    these 60); taken as the point estimate, far fewer do."""
    rng = np.random.default_rng(2)
    kept, kept_by_point = 0, 0
    for events in rng.binomial(1000, rate, 60):
        test = RateTest(names.error_test, lambda p0: p0 + 0.05, hold=100, burn_in=1000)
        test.calibrate(arl0)
        test._start(observed(int(events), 1000))
        kept += test.cusum.expected_delay(rate) >= arl0
        point = RateCusum((events + 1) / 1002, (events + 1) / 1002 + 0.05, arl0)
        kept_by_point += point.expected_delay(rate) >= arl0
    assert kept >= 54 and kept_by_point < 45, (kept, kept_by_point)


def _error_test(started: list) -> RateTest:
    test = RateTest(names.error_test, lambda p0: p0 + 0.05, hold=100, burn_in=1000,
                    on_start=lambda rate, p0: started.append((rate, p0)))  # fmt: skip
    test.calibrate(1e5)
    return test


def test_a_burnt_in_test_takes_its_baseline_from_the_burn_in_and_continues_after_restore():
    rng = np.random.default_rng(5)
    started: list = []
    test = _error_test(started)
    burn = rng.random(1000) < 0.12
    test.update_many(burn[:600])
    assert test.baseline is None and test.readings()["error_test.alarm"] == 0.0
    test.update_many(np.concatenate([burn[600:], rng.random(500) < 0.12]))
    quantile = stats.beta.ppf(0.95, burn.sum() + 1, 1000 - burn.sum() + 1)
    assert test.baseline == pytest.approx(quantile)  # Beta(k + 1, n - k + 1) at 95%
    assert started == [(burn.mean(), test.baseline)]
    again = _error_test([])
    again.restore(test.snapshot())
    worse = rng.random(3000) < 0.4
    test.update_many(worse)
    again.update_many(worse)
    assert test.snapshot() == again.snapshot()
    assert test.readings()["error_test.alarm"] == 1.0 and test.alarms >= 1


def test_an_evidence_rule_needs_the_test_and_resolves_with_it():
    rule = Rule(name="accuracy-drop", model="m", metric="accuracy", op="<", threshold=0.9,
                hysteresis=0.01, evidence_metric="error_test.alarm")  # fmt: skip
    engine = RuleEngine([rule])
    # The line alone is crossed (an in-sample reference): no page.
    assert engine.evaluate("m", {"accuracy": 0.85, "error_test.alarm": 0.0}, 0) == []
    fired = engine.evaluate("m", {"accuracy": 0.85, "error_test.alarm": 1.0}, 1)
    assert [a.state for a in fired] == ["firing"]
    assert engine.evaluate("m", {"accuracy": 0.85, "error_test.alarm": 1.0}, 2) == []
    resolved = engine.evaluate("m", {"accuracy": 0.85, "error_test.alarm": 0.0}, 3)
    assert [a.state for a in resolved] == ["resolved"]
    # The test alone, with accuracy above the line, does not page either.
    assert engine.evaluate("m", {"accuracy": 0.95, "error_test.alarm": 1.0}, 4) == []


@pytest.mark.parametrize("arl0", [2_000, 20_000])
def test_the_shift_threshold_from_siegmunds_approximation_keeps_its_run_length(arl0):
    """Oracle: brute-force simulation of the two-sided shift CUSUM on values from the
    reference's own distribution. Siegmund's formula is an approximation; the
    simulated run length lies within 20-25% of the target."""
    from driftd.detectors.shift import ShiftCusum, calibrate_shift

    rng = np.random.default_rng(4)
    reference = np.sort(rng.normal(0, 1, 20_000))
    cusum = ShiftCusum(reference, 0.25, calibrate_shift(0.25, arl0), hold=100)
    alarms = cusum.update_many(rng.normal(0, 1, arl0 * 150))
    measured = arl0 * 150 / len(alarms)
    assert arl0 * 0.8 <= measured <= arl0 * 1.25, measured  # measured: within 4%


@pytest.mark.parametrize("arl0", [2_000, 20_000])
def test_the_scale_threshold_from_the_chain_keeps_its_run_length(arl0):
    """Oracle: brute-force simulation of the scale CUSUM on N(0, 1) scores (~500 alarms:
    a standard error of ~4.5%); Brook and Evans' grid is an approximation: within 15%."""
    from driftd.detectors.scale import ScaleCusum, calibrate_scale

    rng = np.random.default_rng(6)
    cusum = ScaleCusum(calibrate_scale(arl0), hold=100)
    alarms = cusum.update_scores(rng.normal(0, 1, arl0 * 500))
    measured = arl0 * 500 / len(alarms)
    assert arl0 * 0.85 <= measured <= arl0 * 1.15, measured


def test_a_wider_spread_is_caught_by_the_scale_test_and_not_the_shift_test():
    from driftd.detectors.scale import ScaleCusum, calibrate_scale
    from driftd.detectors.shift import ShiftCusum, calibrate_shift

    rng = np.random.default_rng(7)
    reference = np.sort(rng.normal(0, 1, 10_000))
    shift = ShiftCusum(reference, 0.25, calibrate_shift(0.25, 3e7), hold=100)
    scale = ScaleCusum(calibrate_scale(3e7), hold=100)
    z = shift.scores(rng.normal(0, 2, 2000))  # the same mean, twice the spread
    assert 0 < scale.update_scores(z)[0] < 100
    assert not shift.update_scores(z[:100])
