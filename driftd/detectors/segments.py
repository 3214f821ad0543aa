"""Which segments lost performance, and since when: the evidence behind an alert.

An accuracy alert says *that* the model got worse; the person on call wants *where*
and *since when*. This module answers both from what the model already keeps:

- :class:`~driftd.detectors.slicing.Slicer` cuts traffic into segments along each
  sensitive attribute and feature (values, or the reference's quartiles); a
  prediction's codes are taken when it arrives and kept with it until its label joins.
- :class:`SegmentDetector` keeps the last ``window.size`` joined outcomes' codes, loss
  (classification: 1 for a wrong prediction; regression: the absolute error),
  positive decision (binary) and event time, the same window the performance
  metrics use, and the reference's rows coded the same way as the baseline.
- :meth:`SegmentDetector.segments` ranks the segments whose error rate (or positive
  rate, for a fairness alert) moved most against the reference, with a significance
  guard: Welch's test per segment, Holm's correction over every candidate, at least
  ``MIN_SEGMENT`` events on each side. A segment on thin evidence is never listed.
- :meth:`SegmentDetector.change_point` estimates when the error rate changed within
  the window: the split that best explains it as two constant rates (least squares,
  the CUSUM statistic's argmax), so the alert can say when it started, not only when
  the rule fired.

Without a reference holding labels and predictions there is no baseline, and an alert
says so instead of listing segments.
"""

from __future__ import annotations

import base64
import math
from typing import Any, NamedTuple

import msgspec
import numpy as np
from scipy import stats

from driftd.detectors.base import Detector, OutcomeBatch, PredictionBatch
from driftd.detectors.context import ModelContext
from driftd.detectors.readings import Readings
from driftd.detectors.ring import RingBuffer
from driftd.values import category_text

MIN_SEGMENT = 30  # events on each side before a segment can be listed
ALPHA = 0.01  # family-wise error rate of the listed segments (Holm)
MIN_SPLIT = 30  # events on each side of a change point
# A "segment" holding most of the traffic names no place: the change is across the
# board (a covariate shift can put 98% of traffic in one quartile of the reference).
MAX_SHARE = 0.75


class Segment(msgspec.Struct, kw_only=True):
    """One segment whose performance moved, as an alert shows it."""

    dimension: str  # an attribute or feature name
    value: str  # "F", "clinic-b", "[41.2, 55.0)", "missing", "other"
    measure: str  # "error rate", "positive rate", "mean absolute error"
    now: float  # in the window
    reference: float  # on the reference rows
    count: int  # events of the segment in the window
    share: float  # of the window's events
    p_value: float  # Welch's test, Holm-adjusted over every candidate segment

    def text(self) -> str:
        return (f"{self.dimension}={self.value}: {self.measure} {self.now:.3g} "
                f"(reference {self.reference:.3g}), {self.share:.0%} of traffic, "
                f"p={self.p_value:.2g}")  # fmt: skip


class Driver(msgspec.Struct, kw_only=True):
    """How much of a fall in the label-free estimate one feature's shift explains: the
    change in expected accuracy if each of its segments kept the reference's accuracy
    and only the traffic's mix over them changed (the composition effect)."""

    dimension: str
    explained: float  # change in expected accuracy from this feature's new mix
    value: str  # the segment whose share moved most
    share_reference: float
    share_now: float
    accuracy_reference: float  # the reference's accuracy in that segment

    def text(self) -> str:
        return (f"{self.dimension}: its new mix alone moves expected accuracy by "
                f"{self.explained:+.3f} ({self.value}: {self.share_reference:.0%} of the "
                f"reference, {self.share_now:.0%} now, accuracy there "
                f"{self.accuracy_reference:.2f})")  # fmt: skip


class ChangePoint(msgspec.Struct, kw_only=True):
    """When the loss changed. ``within``: a significant change point inside the window
    (CUSUM test, p <= ``ALPHA``); otherwise the change, if any, came before the
    window's first event, which ``event_time`` then is."""

    event_time: float  # the first event after the change (or the window's first event)
    events_ago: int  # how many joined events ago
    before: float  # mean loss before and after it
    after: float
    p_value: float  # the CUSUM test of "no change inside the window"
    within: bool


class _Sample(NamedTuple):
    """Rows to compare: their segment codes (rows, dimensions) and one measure each."""

    codes: np.ndarray
    values: np.ndarray


def _sample(codes: np.ndarray, values: np.ndarray) -> _Sample:
    """The reference rows with a finite measure (the slicer's codes shared, not copied,
    when every row has one: the usual case)."""
    finite = np.isfinite(values)
    if finite.all():
        return _Sample(codes, values)
    return _Sample(codes[finite], values[finite])


def _grouped(codes: np.ndarray, values: np.ndarray, size: int) -> tuple[np.ndarray, ...]:
    """Count, mean and sample variance of ``values`` per code 0..size-1."""
    count = np.bincount(codes, minlength=size).astype(float)
    total = np.bincount(codes, weights=values, minlength=size)
    squares = np.bincount(codes, weights=values * values, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        var = (squares - count * mean * mean) / (count - 1)
    return count, mean, np.maximum(var, 0.0)


class SegmentDetector(Detector):
    """Keeps what an alert needs to name its segments and its start (no readings)."""

    feeds = ("predictions", "outcomes")
    name = "segments"

    @classmethod
    def build(cls, context: ModelContext) -> list[Detector]:
        return [cls(context)]

    def __init__(self, context: ModelContext):
        self.context = context
        self.slicer = context.slicer
        self.task = context.task
        size = context.spec.windows.size
        self.window = f"last {size} labeled events"
        width = max(len(self.slicer.dimensions), 1)
        self._codes = RingBuffer(size, np.uint8, width=width)
        self._loss = RingBuffer(size)
        self._positive = RingBuffer(size)
        self._time = RingBuffer(size)
        # The last window of predictions' codes, labeled or not: the traffic's mix now.
        self._recent = RingBuffer(size, np.uint8, width=width)
        self._baselines = self._reference_baselines(context)

    # -- the reference ------------------------------------------------------------

    def _reference_baselines(self, context: ModelContext) -> dict[str, tuple[_Sample, str]]:
        """Per measure ("loss", "positive"): the reference rows, and the measure's name."""
        ref = context.reference_spec
        codes = self.slicer.reference_codes()
        if ref is None or codes is None or not self.slicer.dimensions:
            return {}
        labels = context.reference_column(ref.label_column)
        predictions = context.reference_column(ref.prediction_column)
        if labels is None or predictions is None:
            return {}
        if context.classification:
            pairs = zip(predictions, labels, strict=True)
            loss = np.array([category_text(p) != category_text(y) for p, y in pairs], dtype=float)
        else:
            loss = np.abs(np.asarray(predictions, float) - np.asarray(labels, float))
        measures = {"loss": (loss, self._loss_name())}
        if self.task == "binary":
            positive = context.class_names[1]
            chosen = np.array([category_text(p) == positive for p in predictions], dtype=float)
            measures["positive"] = (chosen, "positive rate")
        return {key: (_sample(codes, v), label) for key, (v, label) in measures.items()}

    def _loss_name(self) -> str:
        return "error rate" if self.context.classification else "mean absolute error"

    # -- per batch ----------------------------------------------------------------

    def update_predictions(self, batch: PredictionBatch) -> None:
        """Each prediction's segment codes, a column at a time, kept on its record until
        its label joins (the monitor makes outcomes after this)."""
        if not self.slicer.dimensions:
            return
        codes = self.slicer.batch_codes(batch.feature_columns,
                                        [r.groups for r in batch.records])  # fmt: skip
        for record, row in zip(batch.records, codes, strict=True):
            record.cells = row.tobytes()
        self._recent.extend(codes)

    def update_outcomes(self, batch: OutcomeBatch) -> None:
        rows = [o for o in batch.outcomes if o.cells is not None]
        if not rows or not self.slicer.dimensions:
            return
        width = len(self.slicer.dimensions)
        codes = np.frombuffer(b"".join(o.cells for o in rows), dtype=np.uint8)  # type: ignore[misc]
        self._codes.extend(codes.reshape(len(rows), width))
        y = np.fromiter((o.y for o in rows), float, len(rows))
        y_hat = np.fromiter((o.y_hat for o in rows), float, len(rows))
        if self.context.classification:
            self._loss.extend((y != y_hat).astype(float))
        else:
            self._loss.extend(np.abs(y - y_hat))
        self._positive.extend((y_hat == 1).astype(float))
        self._time.extend(np.fromiter((o.event_time for o in rows), float, len(rows)))

    def readings(self, now: float | None) -> Readings:
        return {}

    def reading_names(self) -> list[str]:
        return []

    # -- evidence -----------------------------------------------------------------

    def segments(self, measure: str = "loss", limit: int = 3) -> tuple[list[Segment], str]:
        """The segments whose ``measure`` ("loss" or "positive") moved most against the
        reference, significant after Holm's correction; and, when none are listed, why.

        Segments over ``MAX_SHARE`` of the traffic are not listed (they name no place).
        Greedy and explained-away: the segment accounting for most of the change (how
        far it moved times its share of traffic) is listed first; the next is sought
        among the rows outside the segments already listed, on both sides. A broken
        clinic therefore does not also list both sexes, whose error rates rose only
        through the clinic's patients."""
        if measure not in self._baselines:
            return [], "no segments: the reference has no labels and predictions to compare with"
        reference, label = self._baselines[measure]
        window = _Sample(self._codes.values(), (self._loss if measure == "loss"
                                                else self._positive).values())  # fmt: skip
        n = len(window.values)
        if n < MIN_SEGMENT:
            return [], f"no segments: {n} labeled events in the window"
        listed: list[Segment] = []
        tested = 0
        for _ in range(limit):
            candidates = self._candidates(window, reference, label, n)
            tested = tested or len(candidates)
            moved = [c for c in candidates if c.p_value <= ALPHA and c.share <= MAX_SHARE
                     and (measure == "positive" or c.now > c.reference)]  # fmt: skip
            if not moved:
                break
            best = max(moved, key=lambda c: abs(c.now - c.reference) * c.share)
            listed.append(best)
            j = next(i for i, d in enumerate(self.slicer.dimensions) if d.name == best.dimension)
            code = self.slicer.dimensions[j].labels.index(best.value)
            window = _outside(window, j, code)
            reference = _outside(reference, j, code)
        if not listed:
            return [], (f"no segment moved significantly (Welch, Holm at {ALPHA:g}, "
                        f"{tested} segments with {MIN_SEGMENT}+ events, at most "
                        f"{MAX_SHARE:.0%} of traffic each): the change is across the board "
                        "or too small to place")  # fmt: skip
        return listed, ""

    def _candidates(self, window: _Sample, reference: _Sample, label: str, n: int
                    ) -> list[Segment]:  # fmt: skip
        """Every segment with ``MIN_SEGMENT`` rows on both sides, Welch-tested, with
        Holm-adjusted p-values (shares are of the whole window, ``n`` rows)."""
        rows = []
        for j, dim in enumerate(self.slicer.dimensions):
            size = len(dim.labels)
            now = _grouped(window.codes[:, j].astype(np.intp), window.values, size)
            ref = _grouped(reference.codes[:, j].astype(np.intp), reference.values, size)
            for code, value in enumerate(dim.labels):
                if now[0][code] < MIN_SEGMENT or ref[0][code] < MIN_SEGMENT:
                    continue
                test = stats.ttest_ind_from_stats(
                    now[1][code], math.sqrt(now[2][code]), now[0][code],
                    ref[1][code], math.sqrt(ref[2][code]), ref[0][code],
                    equal_var=False)  # fmt: skip
                p = float(test.pvalue) if np.isfinite(test.pvalue) else 1.0
                rows.append(Segment(dimension=dim.name, value=value, measure=label,
                                    now=float(now[1][code]), reference=float(ref[1][code]),
                                    count=int(now[0][code]), share=float(now[0][code] / n),
                                    p_value=p))  # fmt: skip
        for segment, adjusted in zip(rows, _holm([r.p_value for r in rows]), strict=True):
            segment.p_value = adjusted
        return rows

    def drivers(self, limit: int = 3) -> tuple[list[Driver], str]:
        """The features whose shift in mix explains most of a fall in expected accuracy,
        most first: for each, sum over its segments of (share now - share on the
        reference) x the reference's accuracy there. Only features whose mix alone
        lowers it; segments under ``MIN_SEGMENT`` reference rows count at the reference's
        overall accuracy."""
        if "loss" not in self._baselines:
            return [], "no drivers: the reference has no labels and predictions to compare with"
        reference = self._baselines["loss"][0]
        recent = self._recent.values()
        if len(recent) < MIN_SEGMENT:
            return [], f"no drivers: {len(recent)} predictions in the window"
        overall = 1.0 - float(np.mean(reference.values))
        found = []
        for j, dim in enumerate(self.slicer.dimensions):
            size = len(dim.labels)
            ref_count, ref_loss, _ = _grouped(reference.codes[:, j].astype(np.intp),
                                              reference.values, size)  # fmt: skip
            accuracy = np.where(ref_count >= MIN_SEGMENT, 1.0 - np.nan_to_num(ref_loss), overall)
            share_ref = ref_count / max(ref_count.sum(), 1.0)
            share_now = np.bincount(recent[:, j].astype(np.intp), minlength=size) / len(recent)
            moved = share_now - share_ref
            explained = float(np.sum(moved * accuracy))
            if explained >= 0:
                continue
            # The segment contributing most: sum(moved) is 0, so explained is also
            # sum(moved x (accuracy - overall)), a sum of per-segment contributions.
            top = int(np.argmin(moved * (accuracy - overall)))
            found.append(Driver(dimension=dim.name, explained=explained, value=dim.labels[top],
                                share_reference=float(share_ref[top]),
                                share_now=float(share_now[top]),
                                accuracy_reference=float(accuracy[top])))  # fmt: skip
        found.sort(key=lambda d: d.explained)
        if not found:
            return [], "no feature's new mix lowers the expected accuracy"
        return found[:limit], ""

    def change_point(self) -> ChangePoint | None:
        """When the window's loss changed: the split minimising the squared error of two
        constant means (at least ``MIN_SPLIT`` events each side), if the CUSUM test
        finds a change inside the window at all; None with too few events.

        The test: max_k |S_k - k/n S_n| / (sd sqrt(n)) follows the Kolmogorov
        distribution without a change (the Brownian bridge's supremum), so a window
        wholly after the change (or with none) is not given a made-up split."""
        loss, times = self._loss.values(), self._time.values()
        n = len(loss)
        if n < 2 * MIN_SPLIT:
            return None
        total = np.cumsum(loss)
        sd = float(np.std(loss))
        bridge = np.abs(total - np.arange(1, n + 1) * total[-1] / n)
        p = float(stats.kstwobign.sf(bridge.max() / (sd * np.sqrt(n)))) if sd > 0 else 1.0
        k = np.arange(MIN_SPLIT, n - MIN_SPLIT + 1)
        left = total[k - 1] / k
        right = (total[-1] - total[k - 1]) / (n - k)
        # The drop in squared error from one mean to two: k(n-k)/n (left-right)^2.
        best = int(np.argmax(k * (n - k) / n * (left - right) ** 2))
        split = int(k[best])
        if p > ALPHA:
            mean = float(total[-1] / n)
            return ChangePoint(event_time=float(times[0]), events_ago=n, before=mean,
                               after=mean, p_value=p, within=False)  # fmt: skip
        return ChangePoint(event_time=float(times[split]), events_ago=n - split,
                           before=float(left[best]), after=float(right[best]), p_value=p,
                           within=True)  # fmt: skip

    # -- state --------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        # The codes as one base64 string (a byte each): ~1.4 KB per 1,000 rows and
        # dimension, not a nested JSON list five times that.
        codes = self._codes.values()
        recent = self._recent.values()
        return {"width": codes.shape[1], "codes": base64.b64encode(codes.tobytes()).decode(),
                "loss": self._loss.snapshot(), "positive": self._positive.snapshot(),
                "time": self._time.snapshot(),
                "recent": base64.b64encode(recent.tobytes()).decode()}  # fmt: skip

    def merge(self, states: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The shards' labeled rows in one window ordered by event time (the change
        point is looked for along it), their recent predictions side by side."""
        width = max(len(self.slicer.dimensions), 1)
        states = [s for s in states if s.get("width") == width]
        if not states:
            return None

        def rows(key: str) -> np.ndarray:
            parts = [np.frombuffer(base64.b64decode(s[key]), dtype=np.uint8) for s in states
                     if key in s]  # fmt: skip
            return np.concatenate(parts).reshape(-1, width)

        def column(key: str) -> np.ndarray:
            return np.array([v for s in states for v in s[key]], dtype=float)

        time = column("time")
        order = np.argsort(time, kind="stable")
        codes, loss, positive = rows("codes")[order], column("loss")[order], column("positive")
        positive = positive[order]

        def listed(values: np.ndarray) -> list[float | None]:
            return np.where(np.isnan(values), None, values).tolist()

        return {"width": width, "codes": base64.b64encode(codes.tobytes()).decode(),
                "loss": listed(loss), "positive": listed(positive), "time": listed(time[order]),
                "recent": base64.b64encode(rows("recent").tobytes()).decode()}  # fmt: skip

    def restore(self, state: dict[str, Any]) -> None:
        width = max(len(self.slicer.dimensions), 1)
        if state.get("width") != width:
            return  # the dimensions changed with the config: start the window afresh
        codes = np.frombuffer(base64.b64decode(state["codes"]), dtype=np.uint8)
        self._codes.restore(codes.reshape(-1, width))
        self._loss.restore(state["loss"])
        self._positive.restore(state["positive"])
        self._time.restore(state["time"])
        if "recent" in state:
            recent = np.frombuffer(base64.b64decode(state["recent"]), dtype=np.uint8)
            self._recent.restore(recent.reshape(-1, width))


def _outside(sample: _Sample, dimension: int, code: int) -> _Sample:
    keep = sample.codes[:, dimension] != code
    return _Sample(sample.codes[keep], sample.values[keep])


def _holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment, in the input order."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    m = len(p_values)
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
