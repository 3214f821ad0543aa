"""The columnar paths equal the value-by-value ones they replace."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from driftd.detectors import columns as q
from driftd.detectors.columns import categorical_column, numeric_column
from driftd.detectors.ring import RingBuffer
from driftd.values import as_number, category_text

ANY_JSON = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10), st.floats(allow_nan=True),
    st.text(max_size=3), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(), st.none()),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 9), st.lists(st.lists(st.floats(-5, 5), max_size=25), max_size=6))
def test_ring_extend_equals_appending_one_by_one(capacity, chunks):
    one, many = RingBuffer(capacity), RingBuffer(capacity)
    for chunk in chunks:
        for value in chunk:
            one.append(value)
        many.extend(np.array(chunk, dtype=float))
        assert len(one) == len(many)
        np.testing.assert_array_equal(one.values(), many.values())


@settings(max_examples=300, deadline=None)
@given(st.lists(ANY_JSON, min_size=1, max_size=30) | st.lists(st.floats(), min_size=1))
def test_numeric_column_equals_per_value_codes(raw):
    bounds = (-1.0, 1e6)
    codes, values = numeric_column(raw, bounds)
    for value, code, drift_value in zip(raw, codes, values, strict=True):
        number = as_number(value)
        assert code == q.numeric_code(number, *bounds)
        finite = not isinstance(number, str) and math.isfinite(number)
        assert (drift_value == number) if finite else math.isnan(drift_value)


@settings(max_examples=300, deadline=None)
@given(st.lists(ANY_JSON, min_size=1, max_size=30) | st.lists(st.text(max_size=2), min_size=1))
def test_categorical_column_equals_per_value_codes(raw):
    codes, categories = categorical_column(raw)
    expected_codes = [
        q.MISSING if v is None else q.TYPE_ERROR if isinstance(v, dict | list) else q.OK
        for v in raw
    ]
    assert codes.tolist() == expected_codes
    assert categories == [
        category_text(v) for v, c in zip(raw, expected_codes, strict=True) if c == q.OK
    ]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4).flatmap(lambda k: st.lists(
    st.lists(st.none() | st.integers(-10, 10) | st.floats(allow_nan=True), min_size=k, max_size=k)
    | st.lists(ANY_JSON, min_size=k, max_size=k), min_size=1, max_size=5)))
def test_numeric_columns_of_a_batch_equal_each_column_alone(raws):
    """The batch's numeric columns as one matrix (numbers and nulls) or one by one."""
    bounds = [(-1.0, 1e6), (0.0, 5.0), (-math.inf, math.inf), (2.0, 3.0), (-7.0, 7.0)][: len(raws)]
    together = q.numeric_columns(raws, bounds)
    for (codes, values), raw, bound in zip(together, raws, bounds, strict=True):
        alone_codes, alone_values = numeric_column(raw, bound)
        np.testing.assert_array_equal(codes, alone_codes)
        np.testing.assert_array_equal(values, alone_values)
