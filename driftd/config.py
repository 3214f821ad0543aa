"""The YAML config: what models driftd watches and how, validated at start.

Every error names the key path and what is wrong (``models.credit.windows.size:
expected int, got str``), because a daemon that dies on a typo should say where
the typo is. Defaults are chosen so a minimal config is a few lines: a task and
the feature kinds; drift tests, fairness checks and alert rules follow from them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import msgspec
import yaml

from driftd.config_alerts import AlertingSpec, check_alerting
from driftd.config_retrain import RetrainSpec, check_retrain
from driftd.config_services import HttpSpec, KafkaSpec, RedisSpec, check_http, check_services
from driftd.errors import ConfigError
from driftd.events import Scalar

__all__ = ["Config", "ConfigError", "load_config", "load_config_data", "parse_duration"]

Duration = float | int | str
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def parse_duration(value: Duration, path: str = "") -> float:
    """'30s', '5m', '1h', '7d', or a number of seconds -> seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ConfigError(path, f"{value!r} is not a duration (e.g. 30s, 5m, 1h, 7d)")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 0:
        raise ConfigError(path, "a duration cannot be negative")
    return seconds


class _Spec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class FeatureSpec(_Spec):
    kind: Literal["numeric", "categorical"]
    # Expected range for data-quality checks; defaults to the reference's min/max.
    min: float | None = None
    max: float | None = None


class ReferenceSpec(_Spec):
    path: str
    prediction_column: str = "prediction"
    label_column: str = "label"
    # Binary: one column of positive-class probability. Multiclass: a prefix,
    # with one column per class named prefix + class (e.g. score_cat, score_dog).
    score_column: str | None = "score"
    # Exact two-sample statistics run on at most this many reference rows
    # (a seeded uniform sample when the file is larger).
    max_rows: int = 10_000
    seed: int = 0


class WindowSpec(_Spec):
    # Performance and fairness over the last `size` labeled predictions...
    size: int = 1000
    # ...and over event-time tumbling windows of this length (0 disables them).
    tumbling: Duration = "1h"


class JoinSpec(_Spec):
    ttl: Duration = "7d"
    max_pending: int = 1_000_000
    # Joined event ids remembered (within the TTL) to recognise duplicates; the oldest
    # are forgotten first. Each costs ~130 bytes of memory and of every checkpoint.
    remember: int = 100_000


class DriftSpec(_Spec):
    window: int = 2000
    # No statistic (and no verdict) until the window holds this many values.
    min_samples: int = 500
    bins: int = 10
    numeric_test: Literal["auto", "ks", "wasserstein", "psi", "jensenshannon"] = "auto"
    categorical_test: Literal["auto", "chisquare", "jensenshannon"] = "auto"
    # Reference size at or below which 'auto' picks a hypothesis test (KS, chi-square)
    # rather than a distance (Wasserstein, Jensen-Shannon): Evidently's rule.
    auto_small_reference: int = 1000
    ks_pvalue: float = 0.05
    chisquare_pvalue: float = 0.05
    wasserstein: float = 0.1
    jensenshannon: float = 0.1
    psi: float = 0.2
    unseen_rate: float = 0.05
    # The sequential shift test on numeric columns (CUSUM on normal scores, see
    # detectors/shift.py): allowance k in standard deviations, alarm threshold h.
    shift_allowance: float = 0.25
    shift_threshold: float = 25.0
    # The model's output and the labels are watched like features.
    predictions: bool = True
    labels: bool = True


class ConceptSpec(_Spec):
    method: Literal["adwin", "page_hinkley", "ddm", "hddm_a"] = "adwin"
    params: dict[str, float | int | str] = {}
    # A detection keeps concept.drift at 1 for this many labeled events.
    hold: int = 1000


class FairnessSpec(_Spec):
    min_group_size: int = 30
    demographic_parity_ratio: float = 0.8
    equalized_odds_difference: float = 0.2


class QualitySpec(_Spec):
    window: int = 1000
    missing_rate: float = 0.1
    type_error_rate: float = 0.01
    out_of_range_rate: float = 0.1
    silence_after: Duration = "10m"


class PerformanceSpec(_Spec):
    # Default rule: alert when accuracy (binary/multiclass) falls this far below the
    # reference's, or when MAE (regression) grows by this fraction.
    max_drop: float = 0.05
    min_labeled: int = 100


class RuleSpec(_Spec):
    metric: str
    op: Literal["<", "<=", ">", ">="]
    threshold: float
    for_: Duration = msgspec.field(default=0, name="for")
    severity: Literal["info", "warning", "critical"] = "warning"
    # The value must come back past threshold +/- hysteresis to resolve.
    hysteresis: float | None = None
    name: str | None = None
    description: str | None = None


class ModelSpec(_Spec):
    task: Literal["binary", "multiclass", "regression"]
    features: dict[str, FeatureSpec | Literal["numeric", "categorical"]]
    classes: list[Scalar] | None = None
    positive_class: Scalar | None = None
    reference: ReferenceSpec | str | None = None
    sensitive_attributes: list[str] = []
    windows: WindowSpec = msgspec.field(default_factory=WindowSpec)
    join: JoinSpec = msgspec.field(default_factory=JoinSpec)
    drift: DriftSpec = msgspec.field(default_factory=DriftSpec)
    concept: ConceptSpec = msgspec.field(default_factory=ConceptSpec)
    fairness: FairnessSpec = msgspec.field(default_factory=FairnessSpec)
    quality: QualitySpec = msgspec.field(default_factory=QualitySpec)
    performance: PerformanceSpec = msgspec.field(default_factory=PerformanceSpec)
    rules: list[RuleSpec] = []
    default_rules: bool = True
    retrain: RetrainSpec | None = None


class NotifierSpec(_Spec):
    type: Literal["console", "jsonl"]
    path: str | None = None


class RuntimeSpec(_Spec):
    state_dir: str = ".driftd"
    # Model versions, their artifacts and retraining reports (shared storage when the
    # worker and the apps run on several machines). Relative to state_dir.
    registry_dir: str = "registry"
    # For the long-lived commands (run, serve, retrain-worker); overrides --log-level
    # and --log-format when set.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = None
    log_format: Literal["text", "json"] | None = None
    max_event_bytes: int = 1 << 20
    # Detectors are cheap per event; statistics and rules run every N events per model.
    evaluate_every: int = 500
    batch_size: int = 2000
    # Above this fraction of dead letters among the last `dead_letter_window` messages
    # the Kafka runtime pauses consumption for `dead_letter_pause` and raises an alert.
    max_dead_letter_ratio: float = 0.5
    dead_letter_window: int = 1000
    dead_letter_pause: Duration = "60s"
    # The Kafka runtime writes state and offsets to Redis at most this often (and when idle).
    checkpoint_interval: Duration = "1s"


class Config(_Spec):
    models: dict[str, ModelSpec]
    runtime: RuntimeSpec = msgspec.field(default_factory=RuntimeSpec)
    kafka: KafkaSpec = msgspec.field(default_factory=KafkaSpec)
    redis: RedisSpec = msgspec.field(default_factory=RedisSpec)
    alerting: AlertingSpec = msgspec.field(default_factory=AlertingSpec)
    http: HttpSpec = msgspec.field(default_factory=HttpSpec)
    notifiers: list[NotifierSpec | Literal["console", "jsonl"]] = msgspec.field(
        default_factory=lambda: ["console", "jsonl"]
    )
    base_dir: str = "."

    def model(self, model_id: str) -> ModelSpec:
        return self.models[model_id]


def _friendly(exc: msgspec.ValidationError) -> ConfigError:
    """Turn msgspec's '... - at `$.a.b[0]`' into ConfigError('a.b[0]', ...)."""
    message = str(exc)
    path = ""
    if " - at `" in message:
        message, _, at = message.partition(" - at `")
        path = at.rstrip("`").removeprefix("$").lstrip(".")
    message = message.replace("`", "")
    message = message[0].lower() + message[1:] if message else message
    return ConfigError(path, message)


def _check(condition: bool, path: str, problem: str) -> None:
    if not condition:
        raise ConfigError(path, problem)


def _normalise(config: Config) -> Config:
    """Expand shorthands and check what the types alone cannot."""
    _check(bool(config.models), "models", "at least one model is required")
    for model_id, model in config.models.items():
        at = f"models.{model_id}"
        _check(bool(model.features), f"{at}.features", "at least one feature is required")
        model.features = {
            name: FeatureSpec(kind=spec) if isinstance(spec, str) else spec
            for name, spec in model.features.items()
        }
        if isinstance(model.reference, str):
            model.reference = ReferenceSpec(path=model.reference)
        if model.reference is not None:
            path = Path(model.reference.path)
            if not path.is_absolute():
                path = Path(config.base_dir) / path
            _check(path.exists(), f"{at}.reference.path", f"file {str(path)!r} does not exist")
            _check(
                path.suffix.lower() in {".csv", ".parquet", ".pq"},
                f"{at}.reference.path",
                "must be a .csv or .parquet file",
            )
            model.reference.path = str(path)
        if model.task == "binary":
            model.classes = model.classes or [0, 1]
            _check(len(model.classes) == 2, f"{at}.classes", "a binary model has two classes")
            if model.positive_class is None:
                model.positive_class = model.classes[1]
            _check(
                model.positive_class in model.classes,
                f"{at}.positive_class",
                f"{model.positive_class!r} is not one of classes {model.classes!r}",
            )
        elif model.task == "multiclass":
            _check(
                model.classes is not None and len(model.classes) >= 2,
                f"{at}.classes",
                "a multiclass model needs the list of its classes (two or more)",
            )
        for size_key, size in (
            ("windows.size", model.windows.size),
            ("drift.window", model.drift.window),
            ("quality.window", model.quality.window),
            ("drift.bins", model.drift.bins),
            ("join.max_pending", model.join.max_pending),
            ("join.remember", model.join.remember),
            ("concept.hold", model.concept.hold),
        ):
            _check(size >= 2, f"{at}.{size_key}", f"must be at least 2, got {size}")
        for key in ("shift_allowance", "shift_threshold"):
            value = getattr(model.drift, key)
            _check(value > 0, f"{at}.drift.{key}", f"must be positive, got {value}")
        model.windows.tumbling = parse_duration(model.windows.tumbling, f"{at}.windows.tumbling")
        model.join.ttl = parse_duration(model.join.ttl, f"{at}.join.ttl")
        model.quality.silence_after = parse_duration(
            model.quality.silence_after, f"{at}.quality.silence_after"
        )
        for i, rule in enumerate(model.rules):
            rule.for_ = parse_duration(rule.for_, f"{at}.rules[{i}].for")
            _check(bool(rule.metric), f"{at}.rules[{i}].metric", "must not be empty")
        if model.retrain is not None:
            check_retrain(model.retrain, f"{at}.retrain", model.task)
        for name in model.sensitive_attributes:
            _check(
                name not in model.features,
                f"{at}.sensitive_attributes",
                f"{name!r} is also a feature; sensitive attributes come from event attributes",
            )
    config.notifiers = [
        NotifierSpec(type=spec) if isinstance(spec, str) else spec for spec in config.notifiers
    ]
    runtime = config.runtime
    _check(runtime.evaluate_every >= 1, "runtime.evaluate_every", "must be at least 1")
    _check(runtime.batch_size >= 1, "runtime.batch_size", "must be at least 1")
    _check(runtime.max_event_bytes >= 64, "runtime.max_event_bytes", "must be at least 64")
    _check(
        0 < runtime.max_dead_letter_ratio <= 1,
        "runtime.max_dead_letter_ratio",
        "must be in (0, 1]",
    )
    runtime.checkpoint_interval = parse_duration(
        runtime.checkpoint_interval, "runtime.checkpoint_interval"
    )
    runtime.dead_letter_pause = parse_duration(
        runtime.dead_letter_pause, "runtime.dead_letter_pause"
    )
    check_services(config.kafka, config.redis)
    check_http(config.http)
    check_alerting(config.alerting)
    return config


def load_config_data(data: Any, base_dir: str | Path = ".") -> Config:
    """Validate an already-parsed YAML/JSON document."""
    if not isinstance(data, dict):
        raise ConfigError("", "the config must be a mapping with a 'models' key")
    models = data.get("models")
    if not isinstance(models, dict):
        raise ConfigError("models", "expected a mapping of model id to model settings")
    converted: dict[str, ModelSpec] = {}
    for model_id, model_data in models.items():
        # Converted one by one so errors can name the model (msgspec says models[...]).
        try:
            converted[str(model_id)] = msgspec.convert(model_data, ModelSpec, strict=False)
        except msgspec.ValidationError as exc:
            inner = _friendly(exc)
            path = f"models.{model_id}" + (
                ""
                if not inner.path
                else inner.path
                if inner.path.startswith("[")
                else f".{inner.path}"
            )
            raise ConfigError(path, inner.problem) from None
    try:
        config = msgspec.convert(
            {**data, "models": {}, "base_dir": str(base_dir)}, Config, strict=False
        )
    except msgspec.ValidationError as exc:
        raise _friendly(exc) from None
    config.models = converted
    return _normalise(config)


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError("", f"cannot read config {str(path)!r}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError("", f"{path} is not valid YAML: {exc}") from None
    return load_config_data(data, base_dir=path.parent)
