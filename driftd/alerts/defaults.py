"""The rules a model gets without writing any: one per thing worth waking up for.

They follow from the config and the reference: the default drift test of each
column (see detectors/drift.py), accuracy (or MAE) against the reference's,
the four-fifths rule and equalized odds per sensitive attribute, a sequential shift
test per numeric feature, concept drift on the error stream, and data quality.
``default_rules: false`` turns them off; rules written in the config are added to
(not replacing) them.
"""

from __future__ import annotations

from driftd.alerts.rules import Rule
from driftd.config import ModelSpec
from driftd.detectors.monitor import ModelMonitor


def _drift_rule(model_id: str, prefix: str, detector, label: str) -> Rule:
    stat, op, threshold = detector.default_rule()
    # Distances resolve 20% under the threshold; p-values once twice the threshold.
    hysteresis = threshold if op == "<" else threshold * 0.2
    return Rule(
        name=f"{prefix}-{stat}",
        model=model_id,
        metric=f"{prefix}.{stat}",
        op=op,
        threshold=threshold,
        severity="warning",
        hysteresis=hysteresis,
        description=f"{label} has drifted from the reference ({detector.test} test).",
    )


def default_rules(model_id: str, spec: ModelSpec, monitor: ModelMonitor) -> list[Rule]:
    rules: list[Rule] = []
    guard = {"guard_metric": "labeled", "guard_minimum": float(spec.performance.min_labeled)}
    ref = monitor.reference_performance
    if monitor.classification and ref.get("accuracy") is not None:
        threshold = round(float(ref["accuracy"]) - spec.performance.max_drop, 6)
        rules.append(
            Rule(
                name="accuracy-drop",
                model=model_id,
                metric="accuracy",
                op="<",
                threshold=threshold,
                severity="critical",
                hysteresis=0.01,
                description=(
                    f"Accuracy over the last {spec.windows.size} labeled predictions fell "
                    f"more than {spec.performance.max_drop:g} below the reference's "
                    f"{ref['accuracy']:.3f}."
                ),
                **guard,
            )
        )
    if not monitor.classification and ref.get("mae") is not None:
        threshold = round(float(ref["mae"]) * (1 + spec.performance.max_drop * 5), 6)
        rules.append(
            Rule(
                name="mae-increase",
                model=model_id,
                metric="mae",
                op=">",
                threshold=threshold,
                severity="critical",
                hysteresis=threshold * 0.05,
                description="Mean absolute error grew well past the reference's.",
                **guard,
            )
        )
    for name, detector in monitor.feature_drift.items():
        rules.append(_drift_rule(model_id, f"drift.{name}", detector, f"Feature {name!r}"))
    for name, detector in monitor.prediction_drift.items():
        label = "The predicted class mix" if name == "class" else "The model's output"
        rules.append(_drift_rule(model_id, f"prediction_drift.{name}", detector, label))
    if monitor.label_drift is not None:
        rules.append(_drift_rule(model_id, "label_drift", monitor.label_drift, "The label mix"))
    fairness = spec.fairness
    for attribute in spec.sensitive_attributes if spec.task == "binary" else []:
        rules.append(
            Rule(
                name=f"fairness-{attribute}-four-fifths",
                model=model_id,
                metric=f"fairness.{attribute}.demographic_parity_ratio",
                op="<",
                threshold=fairness.demographic_parity_ratio,
                severity="critical",
                hysteresis=0.05,
                description=(
                    f"Selection rates across {attribute!r} groups differ beyond the "
                    "four-fifths rule (lowest / highest < 0.8)."
                ),
            )
        )
        rules.append(
            Rule(
                name=f"fairness-{attribute}-equalized-odds",
                model=model_id,
                metric=f"fairness.{attribute}.equalized_odds_difference",
                op=">",
                threshold=fairness.equalized_odds_difference,
                severity="warning",
                hysteresis=0.02,
                description=f"True/false positive rates differ across {attribute!r} groups.",
            )
        )
    if any(hasattr(d, "shift") for d in monitor.feature_drift.values()):
        rules.append(
            Rule(
                name="feature-shift",
                model=model_id,
                metric="drift.*.shift",
                op=">=",
                threshold=1.0,
                severity="warning",
                hysteresis=0.5,
                description=(
                    "A numeric feature's values moved away from the reference's (sequential "
                    "CUSUM test on normal scores): an early warning, before the window test."
                ),
            )
        )
    rules.append(
        Rule(
            name="concept-drift",
            model=model_id,
            metric="concept.drift",
            op=">=",
            threshold=1.0,
            severity="warning",
            hysteresis=0.5,
            description=(
                f"{spec.concept.method} detected a change in the model's error rate: "
                "the relation between inputs and labels may have moved."
            ),
        )
    )
    quality = spec.quality
    for stat, threshold in (
        ("missing_rate", quality.missing_rate),
        ("type_error_rate", quality.type_error_rate),
        ("out_of_range_rate", quality.out_of_range_rate),
    ):
        rules.append(
            Rule(
                name=f"quality-{stat}",
                model=model_id,
                metric=f"quality.*.{stat}",
                op=">",
                threshold=threshold,
                severity="warning",
                hysteresis=threshold * 0.2,
                description=f"A feature's {stat.replace('_', ' ')} is above {threshold:g}.",
            )
        )
    rules.append(
        Rule(
            name="silence",
            model=model_id,
            metric="quality.silence_seconds",
            op=">",
            threshold=float(quality.silence_after),
            severity="critical",
            hysteresis=0.0,
            description="No events from this model for longer than quality.silence_after.",
        )
    )
    return rules


def configured_rules(model_id: str, spec: ModelSpec) -> list[Rule]:
    return [
        Rule(
            name=rule.name or f"{rule.metric}{rule.op}{rule.threshold:g}",
            model=model_id,
            metric=rule.metric,
            op=rule.op,
            threshold=rule.threshold,
            for_seconds=float(rule.for_),
            severity=rule.severity,
            hysteresis=rule.hysteresis,
            description=rule.description or "",
        )
        for rule in spec.rules
    ]
