"""Config for the services driftd talks to in production: Kafka, Redis, a model registry.

Secrets never sit in the config file: a setting ending in ``_env`` names the
environment variable that holds one (:func:`driftd.credentials.resolve_secret`).
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec

from driftd.credentials import resolve_secret
from driftd.durations import Duration, parse_duration
from driftd.errors import ConfigError


class _Spec(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class TopicsSpec(_Spec):
    predictions: str = "driftd.predictions"
    labels: str = "driftd.labels"
    dead_letters: str = "driftd.dead-letters"
    models: str = "driftd.models"


class SecuritySpec(_Spec):
    """Passed through to either client (names as in librdkafka / kafka-python)."""

    protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username_env: str | None = None
    sasl_password_env: str | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None


class KafkaSpec(_Spec):
    bootstrap_servers: str = "127.0.0.1:9092"
    client: Literal["confluent", "kafka-python"] = "confluent"
    group_id: str = "driftd"
    topics: TopicsSpec = msgspec.field(default_factory=TopicsSpec)
    # Partitions of the topics the monitors read (the repartition topics, or with
    # repartition off the event topics, which must then match: see docs/scaling.md).
    partitions: int = 6
    # Route every event to its model's partition before monitoring (any producer key or
    # partitioner works; each event crosses Kafka twice). Off: producers must key by
    # model_id with murmur2 (driftd's SDK, Java, kafka-python); other events are
    # "misrouted" dead letters.
    repartition: bool = True
    replication_factor: int = 1
    # Where a partition with no checkpoint in Redis starts.
    start_from: Literal["earliest", "latest"] = "earliest"
    session_timeout: float = 10.0
    security: SecuritySpec = msgspec.field(default_factory=SecuritySpec)
    # Extra client settings, passed through untouched (librdkafka or kafka-python names).
    options: dict[str, Any] = {}


class RedisSpec(_Spec):
    url: str = "redis://127.0.0.1:6379/0"
    # Overrides url when set (e.g. REDIS_URL in a container).
    url_env: str | None = None
    password_env: str | None = None
    namespace: str = "driftd"
    # Readings kept per model for history and the dashboard.
    history: int = 10000
    # A retraining worker's lease on a model (renewed every third of it while it runs);
    # a worker silent for longer loses the model to another (docs/retraining.md).
    retrain_lease: Duration = "30s"

    def connection_url(self) -> str:
        if self.url_env:
            return resolve_secret(self.url_env, "redis.url_env") or self.url
        return self.url

    def password(self) -> str | None:
        return resolve_secret(self.password_env, "redis.password_env")


class HttpSpec(_Spec):
    """The daemon's HTTP server: health, Prometheus metrics, the JSON API, the dashboard."""

    enabled: bool = True
    host: str = "127.0.0.1"  # loopback unless you say otherwise
    port: int = 8080
    # State-changing endpoints need "Authorization: Bearer <this variable's value>";
    # with the variable unset they always answer 401.
    token_env: str = "DRIFTD_API_TOKEN"
    # /readyz fails while any owned partition is more than this many messages behind.
    ready_max_lag: int = 100_000
    # Host headers answered (any port). Empty: the loopback names when bound to
    # loopback (a DNS-rebinding page gets nothing), anything otherwise; "*": anything.
    allowed_hosts: list[str] = []
    # The address people reach this dashboard at (behind a proxy, a DNS name): every
    # alert links to it. Unset: alerting.dashboard_url (default http://127.0.0.1:8080).
    public_url: str | None = None


def check_http(http: HttpSpec) -> None:
    if not 0 <= http.port <= 65535:
        raise ConfigError("http.port", f"must be 0..65535, got {http.port}")
    if http.ready_max_lag < 0:
        raise ConfigError("http.ready_max_lag", f"must be >= 0, got {http.ready_max_lag}")
    if http.public_url is not None and not http.public_url.startswith(("http://", "https://")):
        raise ConfigError("http.public_url", f"must start with http:// or https://, got "
                                             f"{http.public_url[:80]!r}")  # fmt: skip


class RegistrySpec(_Spec):
    """Where model versions live: driftd's own directory (``runtime.registry_dir``, the
    default) or MLflow's model registry. MLflow's credentials come from MLflow's own
    environment variables (MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_USERNAME/PASSWORD)."""

    kind: Literal["files", "mlflow"] = "files"
    tracking_uri: str | None = None  # mlflow: e.g. http://mlflow:5000
    registry_uri: str | None = None  # mlflow: when the registry is not the tracking server
    name_prefix: str = ""  # mlflow: the registered model is this + the model id
    experiment_prefix: str = "driftd/"  # mlflow: a model's runs go to this + the model id


def check_registry(registry: RegistrySpec) -> None:
    mlflow_only = ("tracking_uri", "registry_uri")
    if registry.kind == "mlflow" and not registry.tracking_uri:
        raise ConfigError("registry.tracking_uri", "required when registry.kind is mlflow")
    for key in mlflow_only:
        uri = getattr(registry, key)
        if uri and registry.kind != "mlflow":
            raise ConfigError(f"registry.{key}", "only used with registry.kind: mlflow")
        if uri and urlsplit(uri).password:
            raise ConfigError(
                f"registry.{key}",
                "contains a password; set MLFLOW_TRACKING_USERNAME/PASSWORD instead",
            )


def check_services(kafka: KafkaSpec, redis: RedisSpec) -> None:
    redis.retrain_lease = parse_duration(redis.retrain_lease, "redis.retrain_lease")
    if redis.retrain_lease < 1:
        raise ConfigError("redis.retrain_lease", "must be at least 1 second")
    if kafka.partitions < 1:
        raise ConfigError("kafka.partitions", f"must be at least 1, got {kafka.partitions}")
    if kafka.replication_factor < 1:
        raise ConfigError("kafka.replication_factor", "must be at least 1")
    if kafka.session_timeout < 1:
        raise ConfigError("kafka.session_timeout", "must be at least 1 second")
    if not kafka.group_id:
        raise ConfigError("kafka.group_id", "must not be empty")
    if kafka.security.protocol.startswith("SASL") and not kafka.security.sasl_mechanism:
        raise ConfigError(
            "kafka.security.sasl_mechanism", "required when protocol is SASL_PLAINTEXT/SASL_SSL"
        )
    for key in kafka.options:
        if any(word in key.lower() for word in ("password", "secret", "token", "jaas")):
            raise ConfigError(
                f"kafka.options.{key}",
                "looks like a secret written in the config; use "
                "kafka.security.sasl_password_env (an environment variable) instead",
            )
    if urlsplit(redis.url).password:
        raise ConfigError(
            "redis.url",
            "contains a password; put it in an environment variable and name it with "
            "redis.password_env (or the whole URL with redis.url_env)",
        )
    if redis.history < 1:
        raise ConfigError("redis.history", "must be at least 1")
    if not redis.url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("redis.url", "must start with redis://, rediss:// or unix://")
