"""What a process knows about the configured models, built once and shared.

Reference data is loaded and the alert rules are generated once per process;
monitors are made from it on demand. The Kafka runtime runs one pipeline per
assigned partition, and each makes monitors only for the models it sees, so a
model's state lives in exactly one place.
"""

from __future__ import annotations

from driftd.alerts.defaults import configured_rules, default_rules
from driftd.alerts.rules import Rule
from driftd.config import Config
from driftd.detectors.monitor import ModelMonitor
from driftd.reference import Reference, load_reference


class ModelCatalog:
    def __init__(self, config: Config):
        self.config = config
        self.references: dict[str, Reference | None] = {}
        self.rules: list[Rule] = []
        for model_id, spec in config.models.items():
            reference = load_reference(model_id, spec)
            self.references[model_id] = reference
            if spec.default_rules:
                self.rules.extend(default_rules(model_id, spec, self.new_monitor(model_id)))
            self.rules.extend(configured_rules(model_id, spec))

    def new_monitor(self, model_id: str) -> ModelMonitor:
        spec = self.config.models[model_id]
        return ModelMonitor(model_id, spec, self.references[model_id])

    def rule_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.config.models, 0)
        for rule in self.rules:
            counts[rule.model] += 1
        return counts
