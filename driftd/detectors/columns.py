"""Columns of a batch of events, as the detectors take them.

Detectors see predictions a batch at a time (``base.PredictionBatch``): each
configured feature becomes one column, and each column one numpy operation for its
quality codes and its drift values, instead of a Python call per value. Every
function here equals the value-by-value rules of ``driftd.values`` and
``detectors.quality`` (tests/unit/test_columnar.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np

from driftd.values import as_number, category_text

_PLAIN_NUMBERS = {float, int, type(None)}
# Data-quality codes of single values (detectors/quality.py counts them per window).
OK, MISSING, TYPE_ERROR, OUT_OF_RANGE = 0, 1, 2, 3


def numeric_column(
    raw: Sequence[Any], bounds: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Quality codes and drift values (NaN unless finite) of one numeric column."""
    if set(map(type, raw)) <= _PLAIN_NUMBERS:  # the usual case: numbers and nulls
        try:
            values = np.array(raw, dtype=float)  # None -> NaN
        except OverflowError:  # an integer beyond float range: one by one below
            return _numeric_column_slow(raw, bounds)
        return _coded(values, *bounds)
    return _numeric_column_slow(raw, bounds)


def numeric_columns(
    raws: Sequence[Sequence[Any]], bounds: Sequence[tuple[float, float]]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`numeric_column` of each of a batch's numeric columns: as one matrix when
    every value is a number or null (the usual batch), else column by column."""
    if raws and set(map(type, chain.from_iterable(raws))) <= _PLAIN_NUMBERS:
        try:
            values = np.array(raws, dtype=float)  # a row per column; None -> NaN
        except OverflowError:  # an integer beyond float range: column by column below
            pass
        else:
            low, high = np.array(bounds, dtype=float).T
            codes, finite = _coded(values, low[:, None], high[:, None])
            return list(zip(codes, finite, strict=True))
    return [numeric_column(raw, b) for raw, b in zip(raws, bounds, strict=True)]


def _coded(values: np.ndarray, low: Any, high: Any) -> tuple[np.ndarray, np.ndarray]:
    """Quality codes of float values (NaN: missing) within ``low``/``high``, and the
    values with NaN for what is not finite."""
    codes = np.where(
        np.isnan(values), MISSING,
        np.where(np.isinf(values) | (values < low) | (values > high), OUT_OF_RANGE, OK),
    ).astype(np.int8)  # fmt: skip
    return codes, np.where(np.isfinite(values), values, np.nan)


def _numeric_column_slow(
    raw: Sequence[Any], bounds: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    numbers = [as_number(value) for value in raw]  # strings, bools, containers: one by one
    codes = np.array([numeric_code(n, *bounds) for n in numbers], dtype=np.int8)
    values = np.array(
        [n if not isinstance(n, str) and math.isfinite(n) else math.nan for n in numbers]
    )
    return codes, values


def columns(rows: list[dict[str, Any]], names: list[str]) -> list[Sequence[Any]]:
    """The rows' values, column by column (None where a row lacks a feature)."""
    if len(names) > 1:
        try:  # every feature present (the usual case): one C call per row
            return list(zip(*map(itemgetter(*names), rows), strict=True))
        except KeyError:
            pass
    return [[row.get(name) for row in rows] for name in names]


def categorical_column(raw: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    """Quality codes and the categories (as text) of the present values of a column."""
    if set(map(type, raw)) == {str}:
        return np.zeros(len(raw), np.int8), list(raw)
    codes = np.array(
        [MISSING if v is None else TYPE_ERROR if isinstance(v, dict | list) else OK
         for v in raw], dtype=np.int8,
    )  # fmt: skip
    return codes, [category_text(v) for v, c in zip(raw, codes, strict=True) if c == OK]


def numeric_code(value: float | str, low: float, high: float) -> int:
    """Quality code of a value already passed through values.as_number."""
    if isinstance(value, str):
        return MISSING if value == "missing" else TYPE_ERROR
    if not math.isfinite(value) or value < low or value > high:
        return OUT_OF_RANGE
    return OK
