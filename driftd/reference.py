"""The reference dataset: what the model saw at training time.

Drift is judged against it, the data-quality ranges come from it, and the label-free
accuracy estimate is calibrated on it. It is read once at start (CSV or Parquet via
pyarrow) and kept as plain numpy columns; large files are sampled down to
``reference.max_rows`` rows with a fixed seed, so results are reproducible.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from driftd.config import ConfigError, ModelSpec, ReferenceSpec
from driftd.values import category_text


@dataclass
class Reference:
    """Reference columns. Numeric columns are float64 (NaN = missing); others are str."""

    n_rows: int
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    def numeric(self, name: str) -> np.ndarray:
        """Finite values of a numeric column."""
        values = self.columns[name]
        return values[np.isfinite(values)]

    def categorical(self, name: str) -> np.ndarray:
        """Non-missing values of a categorical column, as strings."""
        values = self.columns[name]
        return values[values != ""]

    def has(self, name: str | None) -> bool:
        return name is not None and name in self.columns


def _read_table(path: str) -> pa.Table:
    if path.lower().endswith(".csv"):
        return pacsv.read_csv(path)
    return pq.read_table(path)


def _as_numeric(column: pa.ChunkedArray, where: str) -> np.ndarray:
    try:
        return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False).astype(float)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise ConfigError(where, "a numeric column holds values that are not numbers") from None


def _as_text(column: pa.ChunkedArray) -> np.ndarray:
    """The column as category texts, one string object per distinct text: labels,
    predictions and sensitive groups stay loaded for the model's life, and 10k rows of
    two classes were 10k small strings (~0.5 MB a model) pinning the allocator's pools."""
    values = column.to_pylist()
    return np.array(["" if v is None else sys.intern(category_text(v)) for v in values],
                    dtype=object)  # fmt: skip


def load_reference(model_id: str, model: ModelSpec) -> Reference | None:
    """Load and sample the model's reference file; columns the config names must exist."""
    spec = model.reference
    if spec is None:
        return None
    assert isinstance(spec, ReferenceSpec)
    where = f"models.{model_id}.reference"
    try:
        table = _read_table(spec.path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise ConfigError(f"{where}.path", f"cannot read {Path(spec.path).name}: {exc}") from None
    if table.num_rows == 0:
        raise ConfigError(f"{where}.path", "the reference file has no rows")
    if table.num_rows > spec.max_rows:
        rng = np.random.default_rng(spec.seed)
        keep = np.sort(rng.choice(table.num_rows, size=spec.max_rows, replace=False))
        table = table.take(pa.array(keep))
    names = set(table.column_names)
    missing = [name for name in model.features if name not in names]
    if missing:
        raise ConfigError(f"{where}.path", f"reference lacks feature columns {missing}")
    reference = Reference(n_rows=table.num_rows)
    for name, feature in model.features.items():
        if feature.kind == "numeric":
            reference.columns[name] = _as_numeric(table[name], f"{where} column {name!r}")
        else:
            reference.columns[name] = _as_text(table[name])
    classification = model.task != "regression"
    for column in (spec.prediction_column, spec.label_column):
        if column in names:
            reference.columns[column] = (
                _as_text(table[column]) if classification else _as_numeric(table[column], column)
            )
    for attribute in model.sensitive_attributes:
        if attribute in names:
            reference.columns[attribute] = _as_text(table[attribute])
    if spec.score_column:
        if model.task == "binary" and spec.score_column in names:
            reference.columns[spec.score_column] = _as_numeric(
                table[spec.score_column], spec.score_column
            )
        elif model.task == "multiclass":
            for cls in model.classes or []:
                column = f"{spec.score_column}{cls}"
                if column in names:
                    reference.columns[column] = _as_numeric(table[column], column)
    return reference
