"""How raw JSON values become numbers and categories, the same way everywhere.

Reference files and live events must agree on what "the same value" means: a
CSV column read as 1.0 and an event carrying 1 or "1" are one category.
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "missing"
TYPE_ERROR = "type_error"


def category_text(value: Any) -> str:
    """Categories compare as text; integral floats drop their '.0'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_number(value: Any) -> float | str:
    """A finite or non-finite float, or MISSING / TYPE_ERROR.

    NaN and None are missing; infinities are kept as numbers and flagged as out
    of range by data quality; bools, strings and containers are type errors.
    """
    if value is None:
        return MISSING
    if isinstance(value, bool) or not isinstance(value, int | float):
        return TYPE_ERROR
    try:
        number = float(value)
    except OverflowError:  # an integer beyond float range (JSON allows 10**400)
        return math.inf if value > 0 else -math.inf
    return MISSING if math.isnan(number) else number


def readable_number(value: float) -> str:
    """70,240 rather than 7.024e+04, 0.4321 as is: bin and segment names are read by
    people.

    >>> readable_number(70240.4), readable_number(0.43214), readable_number(-1500)
    ('70,240', '0.4321', '-1,500')
    """
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
