"""Training data: the reference plus the labeled events driftd has joined.

Sampling policy (recorded with every run):
- live rows: the newest ``data.max_rows`` joined events of the model that are at most
  ``data.max_age`` older than the newest one, in event-time order;
- holdout: the newest ``data.holdout`` share of those live rows. Never trained on; it
  judges challenger against champion (the most recent behaviour is what matters);
- training set: the reference rows (unless ``data.use_reference: false``) followed by
  the older live rows, in time order, so time-ordered validation folds
  never use the future to predict the past;
- the reference gate's slice: the reference rows whose content hash falls in one fifth
  (:data:`REFERENCE_HOLDOUT`) are never trained on, by any run, so the gate scores the
  challenger and a champion trained by driftd on rows neither saw. Which rows is a
  function of the row alone: every run holds out the same ones;
- holdout rows that repeat a training row exactly (features and label) are removed and
  counted: a model that memorised them would look better than it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from driftd.config import ModelSpec
from driftd.reference import Reference
from driftd.values import category_text

# Recorded in each version's meta: a champion whose meta says the same held these rows out.
REFERENCE_HOLDOUT = "row-hash-mod-5"
_REFERENCE_GATE_SHARE = 5  # one row in five


@dataclass
class Frame:
    X: pd.DataFrame
    y: np.ndarray
    t: np.ndarray  # event time (NaN for reference rows)
    groups: pd.DataFrame  # sensitive attributes, as text
    weight: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class TrainingData:
    train: Frame
    holdout: Frame
    reference: Frame | None
    window: dict[str, Any]


def _label_values(spec: ModelSpec, values: list[Any]) -> np.ndarray:
    """Class labels back to the config's values (the apps' own types); numbers stay."""
    if spec.task == "regression":
        return np.asarray(values, dtype=float)
    by_text = {category_text(c): c for c in spec.classes or []}
    return np.asarray([by_text.get(category_text(v), v) for v in values], dtype=object)


def _frame(spec: ModelSpec, features: dict[str, list[Any]], y: list[Any], t: list[float],
           groups: dict[str, list[Any]], weight: float) -> Frame:  # fmt: skip
    columns = {}
    for name, feature in spec.features.items():
        raw = features[name]
        if feature.kind == "numeric":
            columns[name] = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").astype(
                float
            )
        else:
            columns[name] = pd.Series(
                ["" if v is None else category_text(v) for v in raw], dtype=object
            )
    y_values = _label_values(spec, y)
    if spec.task != "regression":  # sklearn wants one type per label column
        y_values = np.asarray(y_values.tolist())
    return Frame(
        X=pd.DataFrame(columns),
        y=y_values,
        t=np.asarray(t, dtype=float),
        groups=pd.DataFrame(
            {a: ["" if v is None else category_text(v) for v in vals] for a, vals in groups.items()}
        ),
        weight=np.full(len(y), weight),
    )


def reference_frame(spec: ModelSpec, reference: Reference | None) -> Frame | None:
    label_column = spec.reference.label_column if spec.reference else None  # type: ignore[union-attr]
    if reference is None or not reference.has(label_column):
        return None
    labels = reference.columns[label_column]
    keep = np.array([v != "" for v in labels]) if spec.task != "regression" else np.isfinite(labels)
    features = {name: list(reference.columns[name][keep]) for name in spec.features}
    groups = {
        a: list(reference.columns[a][keep]) if reference.has(a) else [""] * int(keep.sum())
        for a in spec.sensitive_attributes
    }
    n = int(keep.sum())
    return _frame(spec, features, list(labels[keep]), [np.nan] * n, groups, 1.0)


def live_frame(spec: ModelSpec, rows: list[dict[str, Any]]) -> Frame:
    features = {name: [row["x"].get(name) for row in rows] for name in spec.features}
    groups = {a: [row["a"].get(a) for row in rows] for a in spec.sensitive_attributes}
    return _frame(spec, features, [row["y"] for row in rows], [row["t"] for row in rows],
                  groups, 1.0)  # fmt: skip


def concat(first: Frame, second: Frame) -> Frame:
    return Frame(
        X=pd.concat([first.X, second.X], ignore_index=True),
        y=np.concatenate([first.y, second.y]),
        t=np.concatenate([first.t, second.t]),
        groups=pd.concat([first.groups, second.groups], ignore_index=True),
        weight=np.concatenate([first.weight, second.weight]),
    )


def row_hashes(frame: Frame) -> np.ndarray:
    """A 64-bit hash per row of its features and label (equal rows, equal hashes)."""
    labelled = frame.X.assign(__label__=pd.Series(frame.y, dtype=object).astype(str))
    return pd.util.hash_pandas_object(labelled, index=False).to_numpy()


def take(frame: Frame, index: slice | np.ndarray) -> Frame:
    return Frame(
        X=frame.X.iloc[index].reset_index(drop=True),
        y=frame.y[index],
        t=frame.t[index],
        groups=frame.groups.iloc[index].reset_index(drop=True),
        weight=frame.weight[index],
    )


def assemble(
    spec: ModelSpec, reference: Reference | None, rows: list[dict[str, Any]]
) -> TrainingData:
    data = spec.retrain.data  # type: ignore[union-attr]
    # A shadow prediction's row repeats its request's inputs (the champion's row has
    # them): training on both would count every shadowed request twice.
    rows = sorted((row for row in rows if not row.get("s")), key=lambda row: row["t"])
    rows = rows[-data.max_rows :]
    if rows:
        newest = rows[-1]["t"]
        rows = [row for row in rows if row["t"] >= newest - float(data.max_age)]
    if len(rows) < 20:
        raise ValueError(f"only {len(rows)} labeled events to learn from; need at least 20")
    live = live_frame(spec, rows)
    cut = len(rows) - max(round(len(rows) * data.holdout), 10)
    holdout = take(live, slice(cut, None))
    older = take(live, slice(0, cut))
    ref = reference_frame(spec, reference)
    ref_gate = None
    if ref is not None:
        in_gate = row_hashes(ref) % _REFERENCE_GATE_SHARE == 0
        ref_gate = take(ref, np.flatnonzero(in_gate))
        ref = take(ref, np.flatnonzero(~in_gate))
    train = concat(ref, older) if ref is not None and data.use_reference else older
    repeated = np.isin(row_hashes(holdout), row_hashes(train))
    holdout = take(holdout, np.flatnonzero(~repeated))
    if len(holdout) < 10:
        raise ValueError(f"only {len(holdout)} holdout rows are not repeats of training rows "
                         f"({int(repeated.sum())} were); need at least 10")  # fmt: skip
    window = {
        "live_rows": len(rows),
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "holdout_repeats_removed": int(repeated.sum()),
        "reference_rows": 0 if ref is None else len(ref),
        "reference_gate_rows": 0 if ref_gate is None else len(ref_gate),
        "live_from": rows[0]["t"],
        "live_to": rows[-1]["t"],
        "holdout_from": rows[cut]["t"],
        "train_to": rows[cut - 1]["t"] if cut > 0 else None,
        "policy": f"newest {data.max_rows} joined events within {float(data.max_age):g}s; "
        f"newest {data.holdout:.0%} held out, less exact repeats of training rows; "
        f"reference rows {'included' if data.use_reference else 'excluded'}, one in "
        f"{_REFERENCE_GATE_SHARE} ({REFERENCE_HOLDOUT}) held out for the reference gate",
    }
    return TrainingData(train=train, holdout=holdout, reference=ref_gate, window=window)
