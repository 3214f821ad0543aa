"""A model's numeric features updated as one block equal each feature updated alone, bit
for bit: windows, ranks, both CUSUMs' states and alarms, and every reading."""

from __future__ import annotations

import numpy as np
import pytest

from driftd.config import DriftSpec
from driftd.detectors.column_tests import NumericDrift
from driftd.detectors.numeric_columns import NumericColumns
from driftd.detectors.scale import calibrate_scale
from driftd.detectors.shift import calibrate_shift

FEATURES = 6


def _tests(rng: np.random.Generator) -> list[NumericDrift]:
    spec = DriftSpec(min_samples=1)
    references = [rng.normal(0, 1, 3000), rng.lognormal(0, 1, 2000),
                  rng.integers(0, 5, 1000).astype(float),  # ties with the reference
                  rng.normal(5, 2, 4000), rng.exponential(1, 500),
                  rng.normal(0, 1, 3000)]  # fmt: skip
    tests = [NumericDrift(r, spec, window=300) for r in references]
    for test in tests:  # thresholds low enough that the changed part alarms often
        test.shift.threshold = calibrate_shift(spec.shift_allowance, 2000)
        test.scale.threshold = calibrate_scale(2000)
    return tests


def _stream(rng: np.random.Generator, rows: int) -> np.ndarray:
    stable = np.column_stack([rng.normal(0, 1, rows), rng.lognormal(0, 1, rows),
                              rng.integers(0, 5, rows).astype(float), rng.normal(5, 2, rows),
                              rng.exponential(1, rows), rng.normal(0, 1, rows)])  # fmt: skip
    matrix = stable.copy()
    half = rows // 2
    matrix[half:, 0] += 1.0  # a shift
    matrix[half:, 3] = 5 + (matrix[half:, 3] - 5) * 3  # a wider spread
    matrix[rng.random((rows, FEATURES)) < 0.05] = np.nan  # missing values here and there
    matrix[: rows // 3, 5] = np.nan  # a feature missing for a long stretch
    return matrix


@pytest.mark.parametrize("batch", [1, 64, 128, 1500])
def test_the_block_equals_each_feature_updated_alone(batch):
    rng = np.random.default_rng(batch)
    alone, together = _tests(np.random.default_rng(1)), _tests(np.random.default_rng(1))
    block = NumericColumns([f"f{i}" for i in range(FEATURES)], together)
    matrix = _stream(rng, 6000)
    for start in range(0, len(matrix), batch):
        part = matrix[start : start + batch]
        for test, values in zip(alone, part.T, strict=True):
            test.update_many(values)
        block.update_matrix(part)
    assert sum(t.shift.alarms for t in alone) > 10 and sum(t.scale.alarms for t in alone) > 10
    for one, other in zip(alone, together, strict=True):
        assert one.snapshot() == other.snapshot()  # windows and CUSUM states, exactly
        assert one.shift.onsets == other.shift.onsets and one.scale.onsets == other.scale.onsets
        assert one.readings() == other.readings()


def test_a_tick_of_the_block_equals_each_feature_read_alone():
    """Window statistics as rows of one matrix (features with as many finite values and
    bins) or one at a time (the others): the readings each feature gives alone, exactly,
    at every tick; cached between ticks, and computed afresh once a window changes."""
    rng = np.random.default_rng(3)
    tests = _tests(np.random.default_rng(1))
    for test in tests:
        test._spec = DriftSpec(min_samples=100)
    block = NumericColumns([f"f{i}" for i in range(FEATURES)], tests)
    matrix = _stream(rng, 4000)
    matrix[:, 4] = np.round(matrix[:, 4], 1)  # ties within the window too
    ticks = 0
    for start in range(0, len(matrix), 64):
        block.update_matrix(matrix[start : start + 64])
        if start % 320:
            continue
        together = [t.assemble(*block.statistics_of(t)) for t in tests]
        alone = [t.readings() for t in tests]
        for one, other in zip(together, alone, strict=True):
            assert one.keys() == other.keys()
            for name, value in one.items():  # the Wasserstein sums to ~1e-16 (masked zeros)
                assert value == (other[name] if name != "wasserstein" else
                                 pytest.approx(other[name], rel=1e-12, abs=1e-15)), name
        assert block.statistics_of(tests[0]) is block.statistics_of(tests[0])  # cached
        if "wasserstein" in together[0]:
            ticks += 1
            # Every window with enough values, of several widths, bin counts and ties.
            assert block.together == sum("wasserstein" in r for r in alone) >= FEATURES - 1
    assert ticks > 5
    before = block.statistics_of(tests[0])
    tests[0].restore(tests[3].snapshot() | {"shift": tests[0].shift.snapshot()})
    assert block.statistics_of(tests[0]) != before  # a restored window is read again
