"""The sequential shift test: the textbook CUSUM recursion, its false-alarm rate under
no drift whatever the column's shape, and its delay against river's ADWIN."""

from __future__ import annotations

import numpy as np
import pytest
from river import drift

from driftd.config import DriftSpec
from driftd.detectors.drift import NumericDrift
from driftd.detectors.shift import ShiftCusum


def textbook(z: np.ndarray, k: float, h: float) -> tuple[list[int], float, float]:
    """Page's two-sided CUSUM, one value at a time, restarting after each alarm."""
    up = down = 0.0
    alarms = []
    for i, x in enumerate(z.tolist()):
        up, down = max(0.0, up + x - k), max(0.0, down - x - k)
        if up > h or down > h:
            alarms.append(i)
            up = down = 0.0
    return alarms, up, down


@pytest.mark.parametrize("chunk", [1, 7, 137, 5000])
def test_batches_equal_the_value_by_value_recursion(chunk):
    rng = np.random.default_rng(chunk)
    reference = np.sort(rng.normal(0, 1, 2000))
    values = np.r_[rng.normal(0, 1, 2000), rng.normal(0.8, 1, 1500), rng.normal(-1, 2, 1500)]
    detector = ShiftCusum(reference, 0.25, 5.0, hold=100)
    found = []
    for start in range(0, len(values), chunk):
        found += [start + a for a in detector.update_many(values[start : start + chunk])]
    expected, up, down = textbook(detector.scores(values), 0.25, 5.0)
    assert found == expected and len(found) > 10
    assert detector.up == pytest.approx(up, abs=1e-9)
    assert detector.down == pytest.approx(down, abs=1e-9)
    state = detector.snapshot()
    again = ShiftCusum(reference, 0.25, 5.0, hold=100)
    again.restore(state)
    assert again.readings() == detector.readings()


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng, n: rng.normal(3, 2, n),
        lambda rng, n: rng.lognormal(0, 1.5, n),
        lambda rng, n: rng.exponential(1, n),
        lambda rng, n: rng.integers(0, 6, n).astype(float),  # heavy ties
    ],
    ids=["normal", "lognormal", "exponential", "integers"],
)
def test_at_most_one_false_alarm_in_a_million_values_without_drift(draw):
    rng = np.random.default_rng(7)
    spec = DriftSpec()
    detector = NumericDrift(draw(rng, 5000), spec)
    alarms = sum(len(detector.update_many(draw(rng, 10_000))) for _ in range(100))
    assert alarms <= 1


def test_catches_a_half_sd_shift_sooner_than_adwin():
    delays, adwin_delays = [], []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        detector = NumericDrift(rng.normal(0, 1, 5000), DriftSpec())
        detector.update_many(rng.normal(0, 1, 5000))
        shifted = rng.normal(0.5, 1, 3000)
        alarms = detector.update_many(shifted)
        delays.append(alarms[0] if alarms else 3000)
        adwin = drift.ADWIN()
        stream = np.r_[rng.normal(0, 1, 5000), shifted]
        first = next((i for i, x in enumerate(stream) if adwin.update(x) or (adwin.drift_detected
                      and i >= 5000)), None)  # fmt: skip
        adwin_delays.append(3000 if first is None else first - 5000)
    assert np.median(delays) < np.median(adwin_delays), (delays, adwin_delays)
    assert max(delays) < 300


def test_normal_scores_are_mid_ranks_against_the_reference_with_ties():
    from scipy import special

    rng = np.random.default_rng(3)
    reference = np.sort(rng.integers(0, 8, 500).astype(float))
    values = np.r_[rng.integers(-2, 10, 300).astype(float), 3.5, 100.0, -100.0]
    n = len(reference)
    left = np.searchsorted(reference, values, side="left")
    right = np.searchsorted(reference, values, side="right")
    expected = special.ndtri(np.clip((left + right) / (2 * n), 0.5 / n, 1 - 0.5 / n))
    got = ShiftCusum(reference, 0.25, 25.0, hold=10).scores(values)
    np.testing.assert_array_equal(got, expected)
