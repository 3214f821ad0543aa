"""What an alert claims and why: its evidence and likely cause, in one record.

Built by the monitor when a rule fires (or escalates), from what the model keeps:

- *when it started*: a change-point estimate on the window's error stream
  (:meth:`SegmentDetector.change_point`), not only when the rule fired;
- *the evidence*: the metric's confidence interval when the detector reports one, its
  reference value and the effect (now minus reference), and the false-alarm budget
  the model's sequential tests are calibrated to;
- *the likely cause*: for performance and fairness alerts the segments whose error
  rate (or positive rate) moved most, significance-guarded
  (:meth:`SegmentDetector.segments`); for drift, the features ranked by how far they
  moved (Jensen-Shannon distance, one scale for numeric and categorical features); for
  a falling label-free estimate also the features whose new mix explains the fall
  (:meth:`SegmentDetector.drivers`: the change in expected accuracy if each segment
  kept the reference's accuracy and only the mix of traffic over them changed).

Every place an alert is shown renders :meth:`Evidence.lines`; webhooks and the API
carry the record itself.
"""

from __future__ import annotations

from typing import Any

import msgspec

from driftd.detectors.readings import Readings, drifted_feature
from driftd.detectors.segments import ChangePoint, Driver, Segment, SegmentDetector
from driftd.events import format_timestamp

# Readings about positive decisions per group: their segments rank by positive rate.
_SELECTION_WORDS = ("demographic_parity", "selection", "disparate_impact", "positive_rate")
_DRIFT_PREFIXES = ("drift.", "estimated.", "prediction_drift.", "label_drift.")
_NO_SEGMENTS = ("quality.", "events.", "join.", "latency_ms.")


class Evidence(msgspec.Struct, kw_only=True, omit_defaults=True):
    started: ChangePoint | None = None
    interval: tuple[float, float] | None = None  # of the metric now (the detector's bounds)
    reference: float | None = None  # the metric on the reference rows
    effect: float | None = None  # now minus reference
    budget: str = ""  # the false-alarm budget the model's tests are calibrated to
    segments: list[Segment] = []
    segments_note: str = ""  # why no segment is listed, when none is
    features: list[tuple[str, float]] = []  # (feature, Jensen-Shannon distance), largest first
    # For the label-free estimate: the features whose new mix explains its fall.
    drivers: list[Driver] = []

    def headline(self) -> str:
        """The most telling fact in one line: the first segment, else the features that
        moved, else when it started (tables with one cell per alert)."""
        if self.segments:
            return self.segments[0].text()
        if self.drivers:
            return self.drivers[0].text()
        if self.features:
            return ", ".join(f"{name} {value:.3f}" for name, value in self.features[:3])
        if self.started is not None and self.started.within:
            return f"started around {format_timestamp(self.started.event_time)}"
        return ""

    def lines(self) -> list[str]:
        """The evidence in words, one fact per line, most telling first."""
        out = []
        s = self.started
        if s is not None and s.within:
            out.append(f"Started around {format_timestamp(s.event_time)} ({s.events_ago} "
                       f"labeled events ago): loss {s.before:.3g} before, {s.after:.3g} "
                       f"after (CUSUM p={s.p_value:.2g})")  # fmt: skip
        elif s is not None:
            out.append(f"Start not located inside the last {s.events_ago} labeled events "
                       f"(CUSUM p={s.p_value:.2g}): it began before "
                       f"{format_timestamp(s.event_time)}, or too recently or gradually to "
                       "place")  # fmt: skip
        facts = []
        if self.interval is not None:
            facts.append(f"99% interval [{self.interval[0]:.3g}, {self.interval[1]:.3g}]")
        if self.reference is not None and self.effect is not None:
            facts.append(f"reference {self.reference:.3g}, change {self.effect:+.3g}")
        if self.budget:
            facts.append(f"false-alarm budget {self.budget}")
        if facts:
            out.append("Evidence: " + "; ".join(facts))
        out += [f"Segment {segment.text()}" for segment in self.segments]
        if self.segments_note:
            out.append(self.segments_note[0].upper() + self.segments_note[1:])
        out += [f"Driver {driver.text()}" for driver in self.drivers]
        if self.features:
            out.append("Features that moved most (Jensen-Shannon): " + ", ".join(
                f"{name} {value:.3f}" for name, value in self.features))  # fmt: skip
        return out


def logged_evidence(alert: dict[str, Any]) -> Evidence | None:
    """The evidence of an alert read back from the alert log (JSON), typed again."""
    raw = alert.get("evidence")
    return None if not raw else msgspec.convert(raw, Evidence)


def why(alert: dict[str, Any]) -> str:
    """The most telling fact of a logged alert's evidence, "" without any."""
    evidence = logged_evidence(alert)
    return "" if evidence is None else evidence.headline()


def ranked_drift(readings: Readings, limit: int = 5) -> list[tuple[str, float]]:
    """Features by how far they moved, largest first (Jensen-Shannon distance: in [0, 1]
    for numeric and categorical features alike, so both rank on one scale)."""
    moved = [
        (feature, float(value))
        for name, value in readings.items()
        if value is not None and (feature := drifted_feature(name, "jensenshannon")) is not None
    ]
    return sorted(moved, key=lambda item: -item[1])[:limit]


def explain(
    metric: str,
    readings: Readings,
    reference: Readings,
    budget: str,
    segments: SegmentDetector | None,
) -> Evidence:
    """The evidence for an alert on ``metric`` given this tick's ``readings``."""
    evidence = Evidence(budget=budget)
    low, high = readings.get(f"{metric}_lower"), readings.get(f"{metric}_upper")
    if low is not None and high is not None:
        evidence.interval = (low, high)
    value, before = readings.get(metric), reference.get(metric)
    if value is not None and before is not None:
        evidence.reference, evidence.effect = before, value - before
    if metric.startswith(_DRIFT_PREFIXES):
        evidence.features = ranked_drift(readings)
        if metric.startswith("estimated.") and segments is not None:
            evidence.drivers, evidence.segments_note = segments.drivers()
        return evidence
    if segments is None or metric.startswith(_NO_SEGMENTS):
        return evidence
    selection = metric.startswith("fairness.") and any(w in metric for w in _SELECTION_WORDS)
    found, note = segments.segments("positive" if selection else "loss")
    evidence.segments, evidence.segments_note = found, note
    evidence.started = segments.change_point()
    return evidence
