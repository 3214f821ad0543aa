"""Slicing dimensions: how a prediction's inputs become its segment codes.

Each sensitive attribute and categorical feature is cut by value (the reference's
``MAX_VALUES`` most frequent values; the rest are ``other``), each numeric feature by
the reference's quartiles; a value that is absent or not a number is ``missing``.
A prediction's codes are one byte per dimension, taken a batch at a time (a numpy
call per dimension) when its batch reaches the detectors, and kept with it until its
label joins (see :mod:`driftd.detectors.segments`, which explains
alerts with them). Built once per model (``ModelContext.slicer``).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from driftd.config import ModelSpec
from driftd.reference import Reference
from driftd.values import readable_number

MAX_VALUES = 12  # values per categorical dimension; the rest are "other"
MAX_DIMENSIONS = 64  # dimensions per model, at most (one byte each per prediction)
MISSING, OTHER = "missing", "other"


class Dimension:
    """One slicing dimension: how a value becomes a one-byte code, and the codes' names."""

    def __init__(self, name: str, source: str, kind: str, reference: np.ndarray | None):
        self.name, self.source, self.kind = name, source, kind
        self.edges: np.ndarray = np.empty(0)
        self.codes: dict[str, int] = {}
        if kind == "numeric":
            values = np.asarray(reference, dtype=float) if reference is not None else np.empty(0)
            values = values[np.isfinite(values)]
            if len(values):
                self.edges = np.unique(np.quantile(values, [0.25, 0.5, 0.75]))
            bounds = [-math.inf, *self.edges.tolist(), math.inf]
            self.labels = [_interval(lo, hi) for lo, hi in itertools.pairwise(bounds)]
        else:
            if reference is not None:
                present = [v for v in reference.tolist() if v != ""]
                values, counts = np.unique(np.asarray(present, dtype=object), return_counts=True)
                order = np.argsort(-counts, kind="stable")[:MAX_VALUES]
                self.codes = {str(values[i]): n for n, i in enumerate(order)}
            self.labels = [*self.codes, OTHER]
        self.missing = len(self.labels)
        self.labels.append(MISSING)

    def code_column(self, column: np.ndarray) -> np.ndarray:
        """The codes of a column, the reference's or a batch's (numeric: float with NaN;
        others: text, "" for missing)."""
        if self.kind == "numeric":
            values = np.asarray(column, dtype=float)
            codes = np.searchsorted(self.edges, values, side="right")
            return np.where(np.isfinite(values), codes, self.missing).astype(np.uint8)
        other = self.missing - 1
        return np.array([self.missing if v == "" else self.codes.get(v, other) for v in column],
                        dtype=np.uint8)  # fmt: skip


def _interval(low: float, high: float) -> str:
    if math.isinf(low):
        return f"< {readable_number(high)}"
    if math.isinf(high):
        return f">= {readable_number(low)}"
    return f"[{readable_number(low)}, {readable_number(high)})"


class Slicer:
    """The slicing dimensions of one model, from its config and reference."""

    def __init__(self, spec: ModelSpec, reference: Reference | None):
        self.reference = reference
        dims = [Dimension(a, "attributes", "categorical", self._column(a))
                for a in spec.sensitive_attributes]  # fmt: skip
        dims += [
            Dimension(name, "features", feature.kind, self._column(name))
            for name, feature in spec.features.items()
        ]
        self.dimensions = dims[:MAX_DIMENSIONS]
        self._reference_codes: np.ndarray | None = None

    def batch_codes(self, columns: dict[str, tuple[np.ndarray, Any]],
                    groups: list[dict[str, str]]) -> np.ndarray:  # fmt: skip
        """(predictions, dimensions) codes of a batch, a numpy call per dimension: from
        the batch's feature columns (``PredictionBatch.feature_columns``: numeric values
        NaN unless finite; categorical quality codes and present values) and each
        prediction's sensitive groups."""
        n = len(groups)
        out = np.empty((n, len(self.dimensions)), dtype=np.uint8)
        for j, dim in enumerate(self.dimensions):
            if dim.source == "attributes":
                column: Any = np.array([g.get(dim.name) or "" for g in groups], dtype=object)
            elif dim.kind == "numeric":
                column = columns[dim.name][1]
            else:  # the present categories back in their rows, "" (missing) elsewhere
                quality, present = columns[dim.name]
                column = np.full(n, "", dtype=object)
                column[quality == 0] = present
            out[:, j] = dim.code_column(column)
        return out

    def _column(self, name: str) -> np.ndarray | None:
        reference = self.reference
        return reference.columns[name] if reference is not None and reference.has(name) else None

    def reference_codes(self) -> np.ndarray | None:
        """(rows, dimensions) codes of the reference rows; None without a reference.
        Computed once (``ModelContext.prepare`` asks before it drops the raw feature
        columns), then kept: one byte per row and dimension."""
        if self.reference is None:
            return None
        if self._reference_codes is None:
            self._reference_codes = self._codes_of_reference()
        return self._reference_codes

    def _codes_of_reference(self) -> np.ndarray:
        assert self.reference is not None
        n = self.reference.n_rows
        out = np.empty((n, len(self.dimensions)), dtype=np.uint8)
        for j, dim in enumerate(self.dimensions):
            column = self._column(dim.name)
            out[:, j] = dim.missing if column is None else dim.code_column(column)
        return out
