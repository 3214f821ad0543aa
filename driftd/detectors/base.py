"""What every detector shares: the encoded inputs and the snapshot contract.

A detector is a small class with ``update(...)`` per event (cheap: counters, bins,
ring buffers), ``readings()`` per evaluation tick (where the statistics are
computed), and ``snapshot()``/``restore()`` to plain JSON-able data, so its state
can live in SQLite or Redis and never goes through pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

Readings = dict[str, float | None]


@dataclass(slots=True)
class Outcome:
    """A prediction joined with its label, encoded for the detectors.

    Classes are integer indices into the model's class list (binary: 1 = positive);
    regression targets are floats. ``score`` is the binary positive-class
    probability (NaN when absent); ``proba`` the multiclass probability row.
    """

    event_time: float
    y: float
    y_hat: float
    score: float = float("nan")
    proba: np.ndarray | None = None
    groups: dict[str, str] = field(default_factory=dict)


class Detector(Protocol):
    def readings(self) -> Readings: ...

    def snapshot(self) -> dict[str, Any]: ...

    def restore(self, state: dict[str, Any]) -> None: ...
