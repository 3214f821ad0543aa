"""Data quality: missing values, type errors, out-of-range values, silence, latency.

Each prediction's features are classified once (ok, missing, wrong type, outside
the expected range) and the codes kept in a ring per feature, so rates describe
the last ``window`` predictions. The expected range is the config's min/max or
the reference's. Silence is the time since the model's last event, measured on
the stream clock (the newest event time seen by the runtime).
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

import numpy as np

from driftd.detectors import readings as names
from driftd.detectors.base import Detector, PredictionBatch, RuleTemplate
from driftd.detectors.columns import MISSING, OUT_OF_RANGE, TYPE_ERROR
from driftd.detectors.context import ModelContext
from driftd.detectors.merging import CONCAT, MAX, Plan
from driftd.detectors.rate_test import RateTest, RateTests, WithRateTests, observed
from driftd.detectors.readings import Readings
from driftd.detectors.ring import RingBuffer

_RATES = {MISSING: "missing_rate", TYPE_ERROR: "type_error_rate", OUT_OF_RANGE: "out_of_range_rate"}


class DataQuality:
    def __init__(self, features: list[str], window: int):
        self._features = features
        self._codes = {name: RingBuffer(window, np.int8) for name in features}
        self._latency = RingBuffer(window)
        # Event time of the newest prediction: a silence is predictions stopping (a
        # label's time is when its outcome became known, often days later).
        self.last_prediction_time: float | None = None

    def update_many(
        self, codes: dict[str, np.ndarray], latencies: np.ndarray, last_time: float
    ) -> None:
        """Many predictions at once, in arrival order."""
        size = len(next(iter(codes.values()))) if codes else 0
        for name, ring in self._codes.items():
            column = codes.get(name)
            ring.extend(column if column is not None else np.full(size, MISSING, np.int8))
        self._latency.extend(latencies)
        if self.last_prediction_time is None or last_time > self.last_prediction_time:
            self.last_prediction_time = last_time

    def readings(self, now: float | None) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        totals = np.zeros(4)
        for name, ring in self._codes.items():
            codes = ring.values()
            if len(codes) == 0:
                continue
            counts = np.bincount(codes, minlength=4)
            totals += counts
            for code, rate in _RATES.items():
                out[names.quality(rate, name)] = counts[code] / len(codes)
        if totals.sum():
            for code, rate in _RATES.items():
                out[names.quality(rate)] = totals[code] / totals.sum()
        if now is not None and self.last_prediction_time is not None:
            out[names.SILENCE] = max(0.0, now - self.last_prediction_time)
        latency = self._latency.values()
        latency = latency[np.isfinite(latency)]
        if len(latency):
            out[names.latency("mean")] = float(np.mean(latency))
            out[names.latency("p95")] = float(np.percentile(latency, 95))
        return out

    def snapshot(self) -> dict[str, Any]:
        return {
            "codes": {name: ring.snapshot() for name, ring in self._codes.items()},
            "latency": self._latency.snapshot(),
            "last_prediction_time": self.last_prediction_time,
        }

    def restore(self, state: dict[str, Any]) -> None:
        for name, ring in self._codes.items():
            ring.restore(state["codes"].get(name, []))
        self._latency.restore(state["latency"])
        # Before 0.9 the key was last_event_time (labels included).
        self.last_prediction_time = state.get("last_prediction_time", state.get("last_event_time"))


def _baselines(context: ModelContext, feature: str) -> dict[str, tuple[float, float] | None]:
    """Each rate's baseline from the reference, as the Beta it is known as (None: learnt
    from a burn-in).

    Missing: the reference column's own missing count. Wrong type: none in the
    reference (its columns parsed). Out of range: for each bound taken from the
    reference's min or max, one more in the Beta's first parameter: the chance that a
    new value from the same distribution lies beyond the extremes of ``n`` is
    Beta(2, n - 1) distributed for both (exact for continuous values); for each
    configured bound, the reference's count beyond it."""
    summary = context.summaries.get(feature)
    if summary is None:
        return {"missing_rate": None, "type_error_rate": None, "out_of_range_rate": None}
    n, missing = summary.rows, summary.missing
    numeric = context.spec.features[feature].kind == "numeric"
    out: dict[str, tuple[float, float] | None] = {
        "missing_rate": observed(missing, n),
        "type_error_rate": observed(0, n),
    }
    if numeric:
        spec = context.spec.features[feature]
        low, high = context.ranges[feature]
        beyond = summary.beyond(low, high)
        a = max(1.0, beyond + (spec.min is None) + (spec.max is None))
        out["out_of_range_rate"] = (a, max(1.0, n + 1 - a))
    return out


class QualityDetector(WithRateTests, Detector):
    """``quality.*`` and ``latency_ms.*``: input problems, silence and serving latency,
    with a calibrated sequential test per feature and rate (:mod:`.rate_test`)."""

    name = "quality"
    feeds = ("predictions",)
    merge_plan: ClassVar[Plan] = {"codes": {"*": CONCAT}, "latency": CONCAT,
                                  "last_prediction_time": MAX}  # fmt: skip

    def __init__(self, context: ModelContext):
        spec = context.spec
        self._spec = spec.quality
        self._features = list(spec.features)
        self.window = f"last {spec.quality.window} events"
        self.quality = DataQuality(self._features, spec.quality.window)
        self.tests = RateTests()
        self._watched: list[tuple[str, int, RateTest]] = []  # (feature, code, its test)
        for feature in self._features:
            baselines = _baselines(context, feature)
            for code, rate in _RATES.items():
                if code == OUT_OF_RANGE and spec.features[feature].kind != "numeric":
                    continue  # a category is never out of range (unseen: drift.*.unseen)
                concern = getattr(spec.quality, rate)
                test = RateTest(
                    partial(names.quality_test, rate, feature),
                    lambda p0, concern=concern: max(concern, 2 * p0),
                    spec.quality.window, baseline=baselines[rate], burn_in=spec.quality.window,
                )  # fmt: skip
                self.tests.add(f"{feature}/{code}", test)
                self._watched.append((feature, code, test))

    @classmethod
    def build(cls, context: ModelContext) -> list[Detector]:
        return [cls(context)]

    def update_predictions(self, batch: PredictionBatch) -> None:
        columns = batch.feature_columns
        codes = {name: column[0] for name, column in columns.items()}
        latencies = [e.latency_ms for e in batch.events if e.latency_ms is not None]
        self.quality.update_many(codes, np.asarray(latencies, dtype=float), batch.last_time)
        clean = np.zeros(len(batch.events), dtype=bool)  # a feature with no problem
        flagged = {name: column.any() for name, column in codes.items()}
        for feature, code, test in self._watched:
            test.update_many(codes[feature] == code if flagged[feature] else clean)

    def readings(self, now: float | None) -> Readings:
        return {**self.quality.readings(now), **self.tests.readings()}

    def reading_names(self) -> list[str]:
        per_feature = [names.quality(r, f) for f in self._features for r in _RATES.values()]
        overall = [names.quality(rate) for rate in _RATES.values()]
        tests = self.tests.reading_names()
        return [*per_feature, *overall, *tests, names.SILENCE, names.latency("mean"),
                names.latency("p95")]  # fmt: skip

    def rule_templates(self) -> list[RuleTemplate]:
        """Per feature: missing, wrong-type and out-of-range values, decided by each
        rate's sequential test (the window's rate is what the alert shows); silence."""
        spec = self._spec
        rates = [
            RuleTemplate(
                name=f"quality-{rate}", metric=names.quality(rate, "*"), op=">",
                threshold=0.0, severity="warning",
                description=(
                    f"A feature's {rate.replace('_', ' ')} rose above its baseline (a "
                    "sequential test per batch, calibrated to the false-alarm budget, "
                    f"tuned to catch a rate of {concern:g})."
                ),
                evidence_metric="{metric}.alarm",
            )
            for rate, concern in (("missing_rate", spec.missing_rate),
                                  ("type_error_rate", spec.type_error_rate),
                                  ("out_of_range_rate", spec.out_of_range_rate))
        ]  # fmt: skip
        silence = RuleTemplate(
            name="silence", metric=names.SILENCE, op=">", threshold=float(spec.silence_after),
            severity="critical", hysteresis=0.0,
            description=(
                "No predictions from this model for longer than quality.silence_after "
                "(in stream time: while other models' events move the clock on)."
            ),
        )
        return [*rates, silence]

    def snapshot(self) -> dict[str, Any]:
        return {**self.quality.snapshot(), "tests": self.tests.snapshot()}

    def restore(self, state: dict[str, Any]) -> None:
        self.quality.restore(state)
        self.tests.restore(state.get("tests", {}))  # absent before 0.9
