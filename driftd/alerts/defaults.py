"""The rules of a model: the defaults its detectors propose, plus the ones configured.

Each detector declares the rules worth waking up for as templates (the default drift
test of each column, accuracy or MAE against the reference's, the four-fifths rule
and equalized odds per sensitive attribute, the sequential shift test, concept drift,
data quality, silence). ``default_rules: false`` turns them off; rules written in the
config are added to (not replacing) them. A configured rule whose metric matches no
reading the model can produce would never fire: that is a config error at start,
with the closest reading names suggested.
"""

from __future__ import annotations

import difflib

import msgspec

from driftd.alerts.rules import Rule
from driftd.config import ModelSpec
from driftd.detectors.base import RuleTemplate
from driftd.detectors.readings import may_match
from driftd.errors import ConfigError


def default_rules(model_id: str, templates: list[RuleTemplate]) -> list[Rule]:
    return [Rule(model=model_id, **msgspec.structs.asdict(t)) for t in templates]


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
            escalate_step=rule.escalate_step,
        )
        for rule in spec.rules
    ]


def check_metrics(model_id: str, rules: list[Rule], declared: list[str]) -> None:
    """Raise a ConfigError for the first rule whose metric matches no declared reading."""
    for index, rule in enumerate(rules):
        if any(may_match(rule.metric, name) for name in declared):
            continue
        close = difflib.get_close_matches(rule.metric, declared, n=3, cutoff=0.5)
        hint = (
            f"; did you mean {' or '.join(repr(c) for c in close)}?"
            if close
            else "; `driftd metrics --model ...` lists the readings"
        )
        raise ConfigError(
            f"models.{model_id}.rules[{index}].metric",
            f"{rule.metric!r} matches no reading of this model, so the rule would never "
            f"fire{hint}",
        )
