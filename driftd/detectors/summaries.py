"""What the detectors keep of each reference feature column: a summary, held once per model.

The raw reference columns are needed only while a model's context is prepared (its
ranges, its slicing dimensions and their codes per reference row). After that every
detector of every monitor of the model reads these summaries: a numeric feature's
finite values sorted once (the drift test's and the shift test's reference, shared
by every monitor the process builds for the model) and its missing count; a
categorical feature's categories with their counts. ``ModelContext.prepare`` then
drops the raw feature columns, so a monitored feature costs one sorted copy of its
reference values, not three (raw, the drift test's, the shift test's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from driftd.detectors.stats import SortedReference


@dataclass(frozen=True)
class ColumnSummary:
    rows: int
    missing: int  # NaN (numeric) or "" (categorical) rows
    # Numeric: the finite values, sorted (None when there are none).
    values: SortedReference | None = None
    # Categorical: the present categories (sorted, as text) and their counts.
    categories: list[str] | None = None
    counts: np.ndarray | None = None

    @classmethod
    def of(cls, column: np.ndarray, numeric: bool) -> ColumnSummary:
        if numeric:
            values = np.asarray(column, dtype=float)
            finite = values[np.isfinite(values)]
            return cls(len(values), int(np.isnan(values).sum()),
                       values=SortedReference(finite) if len(finite) else None)  # fmt: skip
        present = column[column != ""]
        categories, counts = np.unique(present.astype(str), return_counts=True)
        return cls(len(column), len(column) - len(present),
                   categories=[str(c) for c in categories], counts=counts)  # fmt: skip

    def beyond(self, low: float, high: float) -> int:
        """Finite values outside [low, high]."""
        if self.values is None:
            return 0
        sorted_values = self.values.values
        below = int(np.searchsorted(sorted_values, low, side="left"))
        above = len(sorted_values) - int(np.searchsorted(sorted_values, high, side="right"))
        return below + above
