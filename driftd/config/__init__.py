"""driftd's configuration: typed specs (one module per section) and the validating loader.

``load_config(path)`` reads YAML into :class:`Config`; every error is a
:class:`~driftd.errors.ConfigError` naming the key path. The sections:
:mod:`.models` (what each model's monitoring looks like), :mod:`.alerting`
(receivers, routes, inhibition), :mod:`.retraining`, :mod:`.services` (Kafka,
Redis, HTTP) and :mod:`.runtime` (state directory, batching, the alert log).
"""

from driftd.config.loading import Config, load_config, load_config_data
from driftd.config.models import (
    ConceptSpec,
    DriftSpec,
    FairnessSpec,
    FeatureSpec,
    JoinSpec,
    ModelSpec,
    PerformanceSpec,
    QualitySpec,
    ReferenceSpec,
    RuleSpec,
    WindowSpec,
)
from driftd.durations import parse_duration
from driftd.errors import ConfigError

__all__ = [
    "ConceptSpec",
    "Config",
    "ConfigError",
    "DriftSpec",
    "FairnessSpec",
    "FeatureSpec",
    "JoinSpec",
    "ModelSpec",
    "PerformanceSpec",
    "QualitySpec",
    "ReferenceSpec",
    "RuleSpec",
    "WindowSpec",
    "load_config",
    "load_config_data",
    "parse_duration",
]
