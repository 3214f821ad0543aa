"""What a process knows about the configured models, built once and shared.

Per model: the reference data is loaded, the detectors' context prepared and the
alert rules derived (the defaults the detectors propose, the configured ones,
checked against the readings the model can produce). Monitors are made from the
context on demand: the Kafka runtime runs one pipeline per assigned partition, and
each makes monitors only for the models it sees, so a model's state lives in
exactly one place.
"""

from __future__ import annotations

from driftd.alerts.defaults import check_metrics, configured_rules, default_rules
from driftd.alerts.rules import Rule
from driftd.config import Config
from driftd.detectors.context import ModelContext
from driftd.detectors.monitor import ModelMonitor
from driftd.detectors.registry import build_detectors, reading_names, rule_templates
from driftd.detectors.shards import shard_context
from driftd.reference import load_reference
from driftd.sharding import split_key


class ModelCatalog:
    def __init__(self, config: Config):
        self.config = config
        self.contexts: dict[str, ModelContext] = {}
        self.reading_names: dict[str, list[str]] = {}
        self.rules: list[Rule] = []
        self.shards = {model_id: spec.shards for model_id, spec in config.models.items()}
        self._shard_contexts: dict[str, ModelContext] = {}
        for model_id, spec in config.models.items():
            context = ModelContext.prepare(model_id, spec, load_reference(model_id, spec))
            self.contexts[model_id] = context
            detectors = build_detectors(context)
            declared = self.reading_names[model_id] = reading_names(detectors)
            configured = configured_rules(model_id, spec)
            check_metrics(model_id, configured, declared)
            if spec.default_rules:
                self.rules.extend(default_rules(model_id, rule_templates(detectors)))
            self.rules.extend(configured)

    def new_monitor(self, key: str) -> ModelMonitor:
        """The monitor of a model, or of one shard of it (key ``model#k``)."""
        model_id, shard = split_key(key, self.shards)
        context = self.contexts[model_id]
        if shard is not None:
            context = self._shard_contexts.get(model_id) or self._shard_context(model_id)
        return ModelMonitor(context, flush_at=self.config.runtime.decide_every)

    def _shard_context(self, model_id: str) -> ModelContext:
        context = shard_context(self.contexts[model_id], self.shards[model_id])
        self._shard_contexts[model_id] = context
        return context

    def rule_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.config.models, 0)
        for rule in self.rules:
            counts[rule.model] += 1
        return counts
