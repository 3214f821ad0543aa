"""Config for where alerts go: receivers, routes, inhibition.

Modelled on Alertmanager's: a route matches alerts by model, severity, metric and
rule (globs), sends them to one or more receivers, groups them (by model by
default) and paces notifications with group_wait / group_interval /
repeat_interval. Secrets (webhook URLs, tokens, SMTP passwords, signing keys)
are only ever named here as environment variables (``*_env``; ``VAR_FILE`` also
works), never written in the file.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from driftd.budgets import DEFAULT_BUDGET
from driftd.durations import Duration, parse_duration
from driftd.errors import ConfigError


class _Spec(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class SlackReceiver(_Spec, tag="slack", tag_field="type"):
    # Either an incoming webhook (the URL is a secret) or a bot token + channel.
    webhook_url_env: str | None = None
    token_env: str | None = None
    channel: str | None = None
    # Where the Web API lives (tests point it at a local stand-in).
    api_url: str = "https://slack.com/api/"
    timeout: float = 10.0


class EmailReceiver(_Spec, tag="email", tag_field="type"):
    host: str
    to: list[str]
    sender: str = "driftd@localhost"
    port: int | None = None  # default: 465 for tls, 587 for starttls, 25 otherwise
    security: Literal["starttls", "tls", "none"] = "starttls"
    username_env: str | None = None
    password_env: str | None = None
    # A CA bundle to trust (e.g. a private CA); default: the system's.
    ca_file: str | None = None
    timeout: float = 20.0


class WebhookReceiver(_Spec, tag="webhook", tag_field="type"):
    url_env: str
    secret_env: str | None = None  # HMAC-SHA256 signing key
    timeout: float = 10.0


class AlertmanagerReceiver(_Spec, tag="alertmanager", tag_field="type"):
    """Hand alerts to a Prometheus Alertmanager (its v2 API), which routes them on."""

    url: str  # the Alertmanager, e.g. http://alertmanager:9093 (not a secret)
    # Firing alerts are sent again this often, each with endsAt = now + 4 x this
    # (Prometheus' convention): if driftd stops, Alertmanager resolves them itself.
    resend_interval: Duration = "1m"
    # For an Alertmanager behind an authenticating proxy: a bearer token's env var.
    token_env: str | None = None
    timeout: float = 10.0


class ConsoleReceiver(_Spec, tag="console", tag_field="type"):
    pass


class JsonlReceiver(_Spec, tag="jsonl", tag_field="type"):
    path: str | None = None


ReceiverSpec = (
    SlackReceiver
    | EmailReceiver
    | WebhookReceiver
    | AlertmanagerReceiver
    | ConsoleReceiver
    | JsonlReceiver
)


class RouteSpec(_Spec):
    name: str
    receivers: list[str]
    # label -> glob; labels: model, rule, metric, severity. Empty: every alert.
    match: dict[str, str] = {}
    group_by: list[str] = msgspec.field(default_factory=lambda: ["model"])
    group_wait: Duration = "30s"
    group_interval: Duration = "5m"
    repeat_interval: Duration = "4h"
    # A resolved alert is announced only after staying resolved this long; a re-fire
    # within it continues the same episode (no new notice): flapping stays quiet.
    cooldown: Duration = "5m"
    send_resolved: bool = True
    # Keep matching later routes after this one.
    continue_: bool = msgspec.field(default=False, name="continue")


class InhibitSpec(_Spec):
    """While an alert matching ``source`` fires, alerts matching ``target`` with the
    same values of the ``equal`` labels are not notified."""

    source: dict[str, str]
    target: dict[str, str]
    equal: list[str] = msgspec.field(default_factory=lambda: ["model"])


def default_inhibitions() -> list[InhibitSpec]:
    """Bad data explains drift: a quality (or silence) alert mutes that model's drift."""
    return [
        InhibitSpec(source={"rule": source}, target={"metric": target})
        for source in ("quality-*", "silence")
        for target in ("drift.*", "prediction_drift.*", "label_drift.*")
    ]


class AlertingSpec(_Spec):
    receivers: dict[str, ReceiverSpec] = {}
    routes: list[RouteSpec] = []
    inhibit: list[InhibitSpec] = msgspec.field(default_factory=default_inhibitions)
    # Linked from every message (the dashboard / API of this driftd).
    dashboard_url: str = "http://127.0.0.1:8080"
    # Delivery retries: exponential backoff with full jitter, up to max_attempts.
    retry_initial: Duration = "1s"
    retry_max: Duration = "5m"
    max_attempts: int = 12
    # False alerts allowed per model (its calibrated rules together) while nothing
    # changed; a model's own false_alarm_budget overrides it. See docs/alerts.md.
    false_alarm_budget: str = DEFAULT_BUDGET


LABELS = ("model", "rule", "metric", "severity")


def check_alerting(spec: AlertingSpec) -> None:
    """Check what types alone cannot; normalise durations to seconds (in place)."""
    for name, receiver in spec.receivers.items():
        at = f"alerting.receivers.{name}"
        if isinstance(receiver, SlackReceiver):
            webhook = receiver.webhook_url_env is not None
            bot = receiver.token_env is not None
            if webhook == bot:
                raise ConfigError(at, "set either webhook_url_env or token_env (with channel)")
            if bot and not receiver.channel:
                raise ConfigError(f"{at}.channel", "required with token_env")
        if isinstance(receiver, EmailReceiver) and not receiver.to:
            raise ConfigError(f"{at}.to", "at least one address is required")
        if isinstance(receiver, AlertmanagerReceiver):
            if not receiver.url.startswith(("http://", "https://")):
                raise ConfigError(f"{at}.url", f"{receiver.url!r} is not an http(s) URL")
            receiver.resend_interval = parse_duration(
                receiver.resend_interval, f"{at}.resend_interval"
            )
            if receiver.resend_interval <= 0:
                raise ConfigError(f"{at}.resend_interval", "must be positive")
    names = set()
    for i, route in enumerate(spec.routes):
        at = f"alerting.routes[{i}]"
        if route.name in names:
            raise ConfigError(f"{at}.name", f"route {route.name!r} is defined twice")
        names.add(route.name)
        if not route.receivers:
            raise ConfigError(f"{at}.receivers", "at least one receiver is required")
        for receiver in route.receivers:
            if receiver not in spec.receivers:
                raise ConfigError(
                    f"{at}.receivers",
                    f"{receiver!r} is not defined under alerting.receivers "
                    f"({', '.join(spec.receivers) or 'none defined'})",
                )
        for label in [*route.match, *route.group_by]:
            if label not in LABELS:
                raise ConfigError(f"{at}", f"unknown label {label!r}; labels are {LABELS}")
        for key in ("group_wait", "group_interval", "repeat_interval", "cooldown"):
            setattr(route, key, parse_duration(getattr(route, key), f"{at}.{key}"))
    for i, rule in enumerate(spec.inhibit):
        for label in [*rule.source, *rule.target, *rule.equal]:
            if label not in LABELS:
                raise ConfigError(f"alerting.inhibit[{i}]", f"unknown label {label!r}")
    spec.retry_initial = parse_duration(spec.retry_initial, "alerting.retry_initial")
    spec.retry_max = parse_duration(spec.retry_max, "alerting.retry_max")
    if spec.max_attempts < 1:
        raise ConfigError("alerting.max_attempts", "must be at least 1")
