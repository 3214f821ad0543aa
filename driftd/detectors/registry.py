"""The detectors every model gets, in the order their readings and rules are listed.

Adding a detector is one module (a :class:`~driftd.detectors.base.Detector`
subclass), one line here, and its readings in the docs (docs/extending.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from driftd.budgets import (
    DEFAULT_BUDGET,
    events_per_false_alarm,
    events_per_second,
    per_decision,
)
from driftd.detectors import readings as names
from driftd.detectors.base import Detector, RuleTemplate
from driftd.detectors.concept import ConceptDetector
from driftd.detectors.context import ModelContext
from driftd.detectors.drift import FeatureDrift, LabelDrift, PredictionDrift
from driftd.detectors.estimate import EstimateDetector
from driftd.detectors.fairness import FairnessDetector
from driftd.detectors.performance import PerformanceDetector
from driftd.detectors.quality import QualityDetector
from driftd.detectors.segments import SegmentDetector
from driftd.detectors.tumbling import TumblingDetector
from driftd.detectors.versions import VersionDetector

DETECTORS: tuple[type[Detector], ...] = (
    PerformanceDetector,
    TumblingDetector,
    FeatureDrift,
    PredictionDrift,
    LabelDrift,
    FairnessDetector,
    ConceptDetector,
    QualityDetector,
    EstimateDetector,
    SegmentDetector,
    VersionDetector,
)

# Readings of the monitor itself (its event counts and the label join).
MONITOR_READINGS = (
    *(names.event_count(kind) for kind in names.EVENT_KINDS),
    *(names.join(name) for name in (*names.JOIN_TOTALS, *names.JOIN_GAUGES)),
)


def build_detectors(
    context: ModelContext, classes: Iterable[type[Detector]] = DETECTORS
) -> list[Detector]:
    """Every detector of one model, names unique (they key the model's state), their
    sequential tests calibrated to share the model's false-alarm budget."""
    detectors = [detector for cls in classes for detector in cls.build(context)]
    seen: set[str] = set()
    for detector in detectors:
        if detector.name in seen or detector.name in ("join", "counts"):
            raise ValueError(f"two detectors of {context.model_id!r} are named {detector.name!r}")
        seen.add(detector.name)
    decisions = sum(detector.decisions() for detector in detectors)
    if decisions:
        budget = context.spec.false_alarm_budget or DEFAULT_BUDGET
        traffic = context.spec.traffic
        rate = None if traffic is None else events_per_second(traffic)
        arl0 = per_decision(events_per_false_alarm(budget, rate=rate), decisions)
        for detector in detectors:
            if detector.decisions():
                detector.calibrate(arl0)
    return detectors


def rule_templates(detectors: Iterable[Detector]) -> list[RuleTemplate]:
    """The detectors' default rules; templates sharing a name are one rule (the first)."""
    out: dict[str, RuleTemplate] = {}
    for detector in detectors:
        for template in detector.rule_templates():
            out.setdefault(template.name, template)
    return list(out.values())


def reading_names(detectors: Iterable[Detector]) -> list[str]:
    """Every reading a model's monitor can produce (``{...}``: known at run time)."""
    return [*MONITOR_READINGS, *(name for d in detectors for name in d.reading_names())]
