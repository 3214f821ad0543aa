"""Typed records: a prediction waiting for its label, and the outcome of a join.

A prediction is encoded once, when it arrives (class index, score, groups), and may
then wait days for its label inside the join, and across checkpoints. It waits as a
:class:`WaitingPrediction`, a msgspec Struct with array-like encoding: in a snapshot
it is a short JSON array (``[t, y_hat, score, proba, groups, training]``) rather
than an object repeating its field names a million times, yet code reads it by
name, so a reordering cannot silently corrupt state. Snapshots written before these
records (plain lists with the label-free estimate's share at index 5) still load:
see :func:`waiting_from_state`.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec


class TrainingInputs(msgspec.Struct, array_like=True, gc=False):
    """The raw inputs of a prediction, kept (when the model retrains) until its label
    arrives; joined, they become one training row for the retraining worker."""

    t: float
    x: dict[str, Any]
    a: dict[str, Any]
    v: str | None = None
    p: Any = None
    i: str | None = None  # the event id (pairs a shadow prediction with the champion's)
    s: bool = False  # a shadow prediction (live trial), never a training row

    def row(self, label: Any) -> dict[str, Any]:
        """The labeled row as the store keeps it (``{"t", "x", "a", "v", "p", "y", "i"}``,
        and ``"s": true`` for a shadow prediction's)."""
        row = {"t": self.t, "x": self.x, "a": self.a, "v": self.v, "p": self.p, "y": label,
               "i": self.i}  # fmt: skip
        if self.s:
            row["s"] = True
        return row


class WaitingPrediction(msgspec.Struct, array_like=True, gc=False):
    """A prediction encoded for the detectors.

    ``y_hat`` is a class index (binary: 1 = the positive class) or a regression value;
    ``score`` the binary positive-class probability (NaN when absent); ``proba`` the
    multiclass probability row (None when absent); ``groups`` the values of the
    model's sensitive attributes, as text.
    """

    event_time: float
    y_hat: float
    score: float | None = math.nan
    proba: list[float] | None = None
    groups: dict[str, str] = {}
    training: TrainingInputs | None = None
    # One byte per slicing dimension: the segments it belongs to, set when its batch
    # reaches the detectors (detectors/segments.py).
    cells: bytes | None = None

    def __post_init__(self) -> None:
        if self.score is None:  # JSON has no NaN: a missing score comes back as null
            self.score = math.nan


class Outcome(msgspec.Struct, kw_only=True, gc=False):
    """A prediction joined with its label: the prediction's encoded fields plus ``y``.

    ``waited`` is True when the prediction arrived first and waited for its label
    (so it was counted among the unlabeled predictions), False when the label was
    there first.
    """

    event_time: float
    y: float
    y_hat: float
    score: float = math.nan
    proba: list[float] | None = None
    groups: dict[str, str] = {}
    waited: bool = False
    training: TrainingInputs | None = None
    # When the label came (event time), for a prediction that waited for it.
    label_time: float = math.nan
    cells: bytes | None = None

    @classmethod
    def of(cls, prediction: WaitingPrediction, y: float, waited: bool,
           label_time: float = math.nan) -> Outcome:  # fmt: skip
        return cls(event_time=prediction.event_time, y=y, y_hat=prediction.y_hat,
                   score=prediction.score, proba=prediction.proba,  # type: ignore[arg-type]
                   groups=prediction.groups, waited=waited, training=prediction.training,
                   label_time=label_time, cells=prediction.cells)  # fmt: skip


def waiting_from_state(value: Any, legacy: bool = False) -> WaitingPrediction:
    """A waiting prediction read back from a snapshot.

    ``legacy``: the layout before 0.8, ``[t, y_hat, score, proba, groups,
    estimate_share]`` plus the training inputs as a dict when the model retrains.
    The label-free estimate's share is recomputed from the prediction now (it is a
    function of it), so it is dropped.
    """
    if legacy:
        inputs = value[6] if len(value) > 6 else None
        return WaitingPrediction(*value[:5], training=_training(inputs))
    return msgspec.convert(value, WaitingPrediction)


def _training(inputs: dict[str, Any] | None) -> TrainingInputs | None:
    if inputs is None:
        return None
    return TrainingInputs(inputs["t"], inputs["x"], inputs["a"], inputs.get("v"), inputs.get("p"))
