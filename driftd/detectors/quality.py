"""Data quality: missing values, type errors, out-of-range values, silence, latency.

Each prediction's features are classified once (ok, missing, wrong type, outside
the expected range) and the codes kept in a ring per feature, so rates describe
the last ``window`` predictions. The expected range is the config's min/max or
the reference's. Silence is the time since the model's last event, measured on
the stream clock (the newest event time seen by the runtime).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from driftd.detectors.ring import RingBuffer

OK, MISSING, TYPE_ERROR, OUT_OF_RANGE = 0, 1, 2, 3


class DataQuality:
    def __init__(self, features: list[str], window: int):
        self._features = features
        self._codes = {name: RingBuffer(window, np.int8) for name in features}
        self._latency = RingBuffer(window)
        self.last_event_time: float | None = None

    def update_many(
        self, codes: dict[str, np.ndarray], latencies: np.ndarray, last_time: float
    ) -> None:
        """Many predictions at once, in arrival order (see ``ModelMonitor.flush``)."""
        size = len(next(iter(codes.values()))) if codes else 0
        for name, ring in self._codes.items():
            column = codes.get(name)
            ring.extend(column if column is not None else np.full(size, MISSING, np.int8))
        self._latency.extend(latencies)
        self.saw_event(last_time)

    def saw_event(self, event_time: float) -> None:
        """Any event of the model (prediction or label) ends a silence."""
        if self.last_event_time is None or event_time > self.last_event_time:
            self.last_event_time = event_time

    def readings(self, now: float | None) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        totals = np.zeros(4)
        for name, ring in self._codes.items():
            codes = ring.values()
            if len(codes) == 0:
                continue
            counts = np.bincount(codes, minlength=4)
            totals += counts
            out[f"quality.{name}.missing_rate"] = counts[MISSING] / len(codes)
            out[f"quality.{name}.type_error_rate"] = counts[TYPE_ERROR] / len(codes)
            out[f"quality.{name}.out_of_range_rate"] = counts[OUT_OF_RANGE] / len(codes)
        if totals.sum():
            out["quality.missing_rate"] = totals[MISSING] / totals.sum()
            out["quality.type_error_rate"] = totals[TYPE_ERROR] / totals.sum()
            out["quality.out_of_range_rate"] = totals[OUT_OF_RANGE] / totals.sum()
        if now is not None and self.last_event_time is not None:
            out["quality.silence_seconds"] = max(0.0, now - self.last_event_time)
        latency = self._latency.values()
        latency = latency[np.isfinite(latency)]
        if len(latency):
            out["latency_ms.mean"] = float(np.mean(latency))
            out["latency_ms.p95"] = float(np.percentile(latency, 95))
        return out

    def snapshot(self) -> dict[str, Any]:
        return {
            "codes": {name: ring.snapshot() for name, ring in self._codes.items()},
            "latency": self._latency.snapshot(),
            "last_event_time": self.last_event_time,
        }

    def restore(self, state: dict[str, Any]) -> None:
        for name, ring in self._codes.items():
            ring.restore(state["codes"].get(name, []))
        self._latency.restore(state["latency"])
        self.last_event_time = state["last_event_time"]


def numeric_code(value: float | str, low: float, high: float) -> int:
    """Quality code of a value already passed through values.as_number."""
    if isinstance(value, str):
        return MISSING if value == "missing" else TYPE_ERROR
    if not math.isfinite(value) or value < low or value > high:
        return OUT_OF_RANGE
    return OK
