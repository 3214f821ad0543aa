"""The YAML config: what models driftd watches and how, validated at start.

Every error names the key path and what is wrong (``models.credit.windows.size:
expected int, got str``), because a daemon that dies on a typo should say where
the typo is. Defaults are chosen so a minimal config is a few lines: a task and
the feature kinds; drift tests, fairness checks and alert rules follow from them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import msgspec
import yaml

from driftd.budgets import events_per_false_alarm, events_per_second, is_in_time
from driftd.config.alerting import AlertingSpec, check_alerting
from driftd.config.models import FeatureSpec, ModelSpec, ReferenceSpec
from driftd.config.problems import ConfigErrors, problems
from driftd.config.retraining import check_retrain
from driftd.config.runtime import NotifierSpec, RuntimeSpec
from driftd.config.services import (
    HttpSpec,
    KafkaSpec,
    RedisSpec,
    RegistrySpec,
    check_http,
    check_registry,
    check_services,
)
from driftd.durations import parse_duration
from driftd.errors import ConfigError


class _Spec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class Config(_Spec):
    models: dict[str, ModelSpec]
    runtime: RuntimeSpec = msgspec.field(default_factory=RuntimeSpec)
    kafka: KafkaSpec = msgspec.field(default_factory=KafkaSpec)
    redis: RedisSpec = msgspec.field(default_factory=RedisSpec)
    alerting: AlertingSpec = msgspec.field(default_factory=AlertingSpec)
    http: HttpSpec = msgspec.field(default_factory=HttpSpec)
    registry: RegistrySpec = msgspec.field(default_factory=RegistrySpec)
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


MAX_SHARDS = 64


def _check_shards(model: ModelSpec, at: str, repartition: bool) -> None:
    """A sharded model: each shard's windows must still hold rows, and what is not
    merged yet (a retraining loop's rows, producers' own partitioning) is refused."""
    n = model.shards
    _check(1 <= n <= MAX_SHARDS, f"{at}.shards", f"must be between 1 and {MAX_SHARDS}, got {n}")
    if n == 1:
        return
    for size_key, size in (("windows.size", model.windows.size),
                           ("drift.window", model.drift.window),
                           ("quality.window", model.quality.window)):  # fmt: skip
        _check(size >= 2 * n, f"{at}.{size_key}",
               f"{size} is too small for {n} shards (each keeps {size} // {n} rows; at "
               "least 2)")  # fmt: skip
    _check(model.retrain is None, f"{at}.shards",
           "a sharded model cannot have a retrain section yet (its joined rows are "
           "kept per shard)")  # fmt: skip
    _check(repartition, f"{at}.shards",
           "shards need the routing stage (kafka.repartition: true), which splits a "
           "model's events by event_id")  # fmt: skip


def _normalise(config: Config) -> Config:
    """Expand shorthands and check what the types alone cannot."""
    _check(bool(config.models), "models", "at least one model is required")
    if not is_in_time(config.alerting.false_alarm_budget):  # in time: checked per model
        events_per_false_alarm(config.alerting.false_alarm_budget, "alerting.false_alarm_budget")
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
            _check(value is None or value > 0, f"{at}.drift.{key}",
                   f"must be positive, got {value}")  # fmt: skip
        model.windows.tumbling = parse_duration(model.windows.tumbling, f"{at}.windows.tumbling")
        model.join.ttl = parse_duration(model.join.ttl, f"{at}.join.ttl")
        model.quality.silence_after = parse_duration(
            model.quality.silence_after, f"{at}.quality.silence_after"
        )
        rate = None if model.traffic is None else events_per_second(model.traffic, f"{at}.traffic")
        if model.false_alarm_budget is None:
            model.false_alarm_budget = config.alerting.false_alarm_budget
            where = "alerting.false_alarm_budget" if rate is not None else f"{at}.traffic"
        else:
            where = f"{at}.false_alarm_budget"
        events_per_false_alarm(model.false_alarm_budget, where, rate)
        significance = model.drift.significance
        _check(significance is None or 0 < significance < 1, f"{at}.drift.significance",
               f"must be between 0 and 1, got {significance}")  # fmt: skip
        for key in ("burn_in", "hold"):
            value = getattr(model.performance, key)
            _check(value >= 1, f"{at}.performance.{key}", f"must be at least 1, got {value}")
        for i, rule in enumerate(model.rules):
            rule.for_ = parse_duration(rule.for_, f"{at}.rules[{i}].for")
            _check(bool(rule.metric), f"{at}.rules[{i}].metric", "must not be empty")
            step = rule.escalate_step
            _check(step is None or step > 0, f"{at}.rules[{i}].escalate_step",
                   f"must be positive, got {step}")  # fmt: skip
        if model.retrain is not None:
            check_retrain(model.retrain, f"{at}.retrain", model.task)
        _check_shards(model, at, config.kafka.repartition)
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
    _check(runtime.decide_every >= 1, "runtime.decide_every", "must be at least 1")
    _check(runtime.batch_size >= 1, "runtime.batch_size", "must be at least 1")
    _check(runtime.max_event_bytes >= 64, "runtime.max_event_bytes", "must be at least 64")
    _check(
        0 < runtime.max_dead_letter_ratio <= 1,
        "runtime.max_dead_letter_ratio",
        "must be in (0, 1]",
    )
    runtime.max_clock_jump = parse_duration(runtime.max_clock_jump, "runtime.max_clock_jump")
    _check(runtime.max_clock_jump > 0, "runtime.max_clock_jump", "must be positive")
    runtime.checkpoint_interval = parse_duration(
        runtime.checkpoint_interval, "runtime.checkpoint_interval"
    )
    runtime.dead_letter_pause = parse_duration(
        runtime.dead_letter_pause, "runtime.dead_letter_pause"
    )
    check_services(config.kafka, config.redis)
    check_http(config.http)
    check_registry(config.registry)
    if config.http.public_url:  # where people reach the dashboard: every alert links there
        config.alerting.dashboard_url = config.http.public_url
    check_alerting(config.alerting)
    return config


def load_config_data(data: Any, base_dir: str | Path = ".") -> Config:
    """Validate an already-parsed YAML/JSON document."""
    if not isinstance(data, dict):
        raise ConfigError("", "the config must be a mapping with a 'models' key")
    models = data.get("models")
    if not isinstance(models, dict):
        raise ConfigError("models", "expected a mapping of model id to model settings")
    found = problems(data, Config)
    if found:  # every problem the types can see, at once
        raise ConfigErrors(found)
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
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("", f"cannot read config {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:  # found by the coverage-guided fuzzer
        raise ConfigError("", f"{path} is not UTF-8 text (byte {exc.start}: "
                          f"{exc.object[exc.start:exc.start + 1]!r})") from None  # fmt: skip
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError("", f"{path} is not valid YAML: {exc}") from None
    return load_config_data(data, base_dir=path.parent)
