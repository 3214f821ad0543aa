"""Reading names, declared once: how every detector value is named, and in what unit.

A reading is one number a detector computes for one model at an evaluation tick:
``accuracy``, ``drift.age.wasserstein``, ``fairness.sex.demographic_parity_ratio``.
Rules, the store, the API, Prometheus and the dashboard all know values by these
names, so they are built here and nowhere else: detectors call the functions below,
and :data:`UNITS` says which unit each name carries (Prometheus keeps one unit per
metric family, so the exporter sorts readings into families by it).

A name with a part known only at run time (a group of a sensitive attribute) is
declared with that part in braces, ``fairness.sex.group.{group}.accuracy``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from typing import Literal

Readings = dict[str, float | None]


def plain(readings: Readings) -> Readings:
    """Plain floats only, NaN as None: readings go to JSON, Prometheus and rules."""
    return {k: None if v is None or v != v else float(v) for k, v in readings.items()}


# ratio: dimensionless (rates, scores, statistics, p-values, 0/1 verdicts, gauges of
# items); total: a count that only grows; seconds: a duration; timestamp: epoch
# seconds; milliseconds: serving latency as apps report it; target: the regression
# target's own unit (errors of a regression model).
Unit = Literal["ratio", "total", "seconds", "timestamp", "milliseconds", "target"]

EVENT_KINDS = ("predictions", "labels")
JOIN_TOTALS = ("matched", "expired", "orphans", "duplicates")
JOIN_GAUGES = ("waiting_predictions", "waiting_labels")
QUALITY_RATES = ("missing_rate", "type_error_rate", "out_of_range_rate")


def event_count(kind: str) -> str:
    return f"events.{kind}"


def join(name: str) -> str:
    return f"join.{name}"


def tumbling(metric: str) -> str:
    return f"tumbling.{metric}"


# A shadow trial's readings, beside the model's: "shadow.accuracy", ... (monitor.py)
SHADOW_PREFIX = "shadow."


def version(name: str, metric: str) -> str:
    """A model version's own reading during an A/B trial: ``version.3.accuracy``."""
    return f"version.{name}.{metric}"


def fairness_prefix(attribute: str) -> str:
    return f"fairness.{attribute}"


def fairness(attribute: str, metric: str) -> str:
    return f"{fairness_prefix(attribute)}.{metric}"


def fairness_group(attribute: str, group: str, metric: str) -> str:
    return f"{fairness_prefix(attribute)}.group.{group}.{metric}"


def fairness_groups(names: Iterable[str], attribute: str) -> list[str]:
    """The groups of ``attribute`` that appear in reading names, sorted."""
    prefix = f"{fairness_prefix(attribute)}.group."
    return sorted({n[len(prefix) :].rsplit(".", 1)[0] for n in names if n.startswith(prefix)})


def concept(name: str) -> str:
    return f"concept.{name}"


def quality(rate: str, feature: str | None = None) -> str:
    """Per feature, or over every feature when ``feature`` is None."""
    return f"quality.{rate}" if feature is None else f"quality.{feature}.{rate}"


def quality_test(rate: str, feature: str, part: str) -> str:
    """The sequential test on one feature's rate (``part``: see :func:`error_test`)."""
    return f"{quality(rate, feature)}.{part}"


SILENCE = "quality.silence_seconds"


def error_test(part: str) -> str:
    """The sequential test on the error stream (:mod:`driftd.detectors.performance`):
    ``alarm`` (1 while an alarm is held), ``progress`` (the statistic as a share of its
    limit), ``baseline`` (the error rate it tests against), ``alarms`` (a total)."""
    return f"error_test.{part}"


def label_share_test(label: str, direction: str, part: str) -> str:
    """The sequential test on a class's share among the labels (``direction``: rise or
    fall; ``part``: see :func:`error_test`)."""
    return f"{LABEL_DRIFT_PREFIX}.share.{label}.{direction}.{part}"


def selection_test(attribute: str, group: str, part: str) -> str:
    """The sequential test on a group's share of positive decisions falling (``part``:
    see :func:`error_test`)."""
    return fairness_group(attribute, group, f"selection_fall.{part}")


def residual_test(part: str) -> str:
    """The sequential test on a regression's residuals (:mod:`.residual_test`): the parts
    of :func:`error_test`, plus ``limit`` (the burn-in's 90% quantile of |residual|)."""
    return f"residual_test.{part}"


def latency(statistic: str) -> str:
    return f"latency_ms.{statistic}"


def estimated(metric: str) -> str:
    return f"estimated.{metric}"


def column_drift(prefix: str, statistic: str) -> str:
    """``prefix`` from :func:`feature_drift_prefix` and friends; ``statistic`` e.g. psi."""
    return f"{prefix}.{statistic}"


def drift_test(prefix: str, statistic: str, part: str) -> str:
    """A sequential test on a drift statistic, e.g. ``drift.color.unseen_rate.alarm``."""
    return f"{column_drift(prefix, statistic)}.{part}"


def feature_drift_prefix(feature: str) -> str:
    return f"drift.{feature}"


def prediction_drift_prefix(output: str) -> str:
    """``output``: class (the predicted class), score or value (regression)."""
    return f"prediction_drift.{output}"


LABEL_DRIFT_PREFIX = "label_drift"


def drifted_feature(name: str, statistic: str) -> str | None:
    """The feature a feature-drift reading of ``statistic`` is about (None for others).

    >>> drifted_feature("drift.income.jensenshannon", "jensenshannon")
    'income'
    >>> drifted_feature("prediction_drift.score.jensenshannon", "jensenshannon") is None
    True
    """
    head, tail = feature_drift_prefix(""), f".{statistic}"
    if name.startswith(head) and name.endswith(tail) and len(name) > len(head) + len(tail):
        return name[len(head) : -len(tail)]
    return None

# Units by name (first match wins). Anything not listed is a ratio.
UNITS: tuple[tuple[str, Unit], ...] = (
    ("events.*", "total"),
    *((join(name), "total") for name in JOIN_TOTALS),
    ("concept.detections", "total"),
    ("*.shift_alarms", "total"),
    ("*.scale_alarms", "total"),
    ("error_test.alarms", "total"),
    ("residual_test.alarms", "total"),
    (f"{LABEL_DRIFT_PREFIX}.share.*.alarms", "total"),
    ("fairness.*.selection_fall.alarms", "total"),
    ("quality.*.alarms", "total"),
    ("drift.*.unseen_rate.alarms", "total"),
    (SILENCE, "seconds"),
    ("estimated.overdue_after_seconds", "seconds"),
    ("tumbling.window_start", "timestamp"),
    ("latency_ms.*", "milliseconds"),
    ("mae", "target"),
    ("rmse", "target"),
    ("tumbling.mae", "target"),
    ("tumbling.rmse", "target"),
    ("fairness.*.mae_difference", "target"),
    ("fairness.*.group.*.mae", "target"),
)


def unit_of(name: str) -> Unit:
    for pattern, unit in UNITS:
        if fnmatch.fnmatchcase(name, pattern):
            return unit
    return "ratio"


_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def may_match(pattern: str, declared: str) -> bool:
    """Whether a rule's metric glob can match a reading declared as ``declared``.

    A run-time part of the declaration (``{group}``) stands for any text.

    >>> may_match("drift.*.psi", "drift.age.psi")
    True
    >>> may_match("fairness.sex.group.f.accuracy", "fairness.sex.group.{group}.accuracy")
    True
    >>> may_match("acuracy", "accuracy")
    False
    """
    literal = ".+".join(re.escape(part) for part in _PLACEHOLDER.split(declared))
    if re.fullmatch(literal, pattern):
        return True
    return fnmatch.fnmatchcase(_PLACEHOLDER.sub("*", declared), pattern)
