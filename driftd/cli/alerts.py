"""`driftd silence add|list|expire` and `driftd alerts test`: the alert commands.

Silences live in the outbox's records: the embedded one (SQLite in the state
directory) by default, the service's Redis one with ``--redis``. A running
daemon picks changes up within seconds.
"""

from __future__ import annotations

import argparse
import sys
import time

from rich.console import Console
from rich.table import Table

from driftd.alerts.matchers import parse_matchers
from driftd.alerts.model import Alert, Notification, dedup_key
from driftd.alerts.outbox import Outbox
from driftd.alerts.silences import expire_silence, new_silence, put_silence, silences
from driftd.config import Config, ConfigError, load_config, parse_duration
from driftd.credentials import redact
from driftd.daemon.builders import redis_client
from driftd.daemon.paths import OUTBOX_FILE, state_dir
from driftd.events import format_timestamp

out = Console(width=None if sys.stdout.isatty() else 160)


def open_outbox(config: Config, use_redis: bool) -> Outbox:
    if use_redis:
        from driftd.alerts.outbox import RedisOutbox

        return RedisOutbox(redis_client(config), config.redis.namespace)
    from driftd.alerts.outbox import SqliteOutbox

    directory = state_dir(config)
    directory.mkdir(parents=True, exist_ok=True)
    return SqliteOutbox(directory / OUTBOX_FILE)


def cmd_silence_add(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    matchers = parse_matchers(args.matcher)
    if not matchers:
        raise ConfigError("--matcher", "at least one, e.g. --matcher model=credit-risk")
    try:
        silence = new_silence(
            matchers, parse_duration(args.duration, "--duration"), args.author, args.comment
        )
    except ValueError as exc:
        raise ConfigError("--duration", str(exc)) from None
    put_silence(open_outbox(config, args.service), silence)
    out.print(f"silence {silence.id} until {format_timestamp(silence.ends_at)}")
    return 0


def cmd_silence_list(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    now = time.time()
    rows = sorted(silences(open_outbox(config, args.service)), key=lambda s: s.ends_at)
    table = Table(title="silences")
    for column in ("id", "matchers", "until", "state", "by", "comment"):
        table.add_column(column)
    for silence in rows:
        if not args.all and not silence.active(now):
            continue
        table.add_row(
            silence.id,
            " ".join(f"{k}={v}" for k, v in silence.matchers.items()),
            format_timestamp(silence.ends_at),
            "active" if silence.active(now) else "expired",
            silence.created_by,
            silence.comment,
        )
    out.print(table)
    return 0


def cmd_silence_expire(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if not expire_silence(open_outbox(config, args.service), args.id):
        out.print(f"[red]no silence {args.id!r}[/]")
        return 1
    out.print(f"silence {args.id} expired")
    return 0


def sample_notification(config: Config, route: str, receiver: str) -> Notification:
    now = time.time()
    model = next(iter(config.models))
    alert = Alert(
        key=dedup_key(model, "driftd-test", "accuracy"),
        model=model,
        rule="driftd-test",
        metric="accuracy",
        state="firing",
        severity="info",
        value=0.71,
        op="<",
        threshold=0.8,
        first_event_time=now - 600,
        event_time=now,
        description="A test alert from `driftd alerts test`: if you can read this, "
        "this route works. Nothing is wrong with the model.",
        window="last 1000 labeled events",
    )
    return Notification(
        id=f"test-{int(now * 1000)}-{receiver}",
        receiver=receiver,
        route=route,
        group_key=f"{route}|test",
        group_labels={"model": model},
        status="firing",
        alerts=[alert],
        created_at=now,
        dashboard_url=config.alerting.dashboard_url,
        history={alert.key: [(now - 60 * (30 - i), 0.9 - 0.006 * i) for i in range(31)]},
    )


def cmd_alerts_test(args: argparse.Namespace) -> int:
    from driftd.alerts.receivers import DeliveryError, ReceiverContext
    from driftd.alerts.receivers.registry import build_receiver

    config = load_config(args.config)
    routes = {route.name: route for route in config.alerting.routes}
    if args.route not in routes:
        raise ConfigError(
            "--route", f"no route {args.route!r} (routes: {', '.join(routes) or 'none'})"
        )
    context = ReceiverContext(state_dir(config), open_outbox(config, False))
    failures = 0
    for receiver in routes[args.route].receivers:
        try:
            built = build_receiver(receiver, config.alerting.receivers[receiver], context)
            built.send(sample_notification(config, args.route, receiver))
            out.print(f"[green]ok[/] {receiver}")
        except DeliveryError as exc:
            failures += 1
            kind = "will be retried" if exc.retryable else "permanent"
            out.print(f"[red]failed[/] {receiver}: {redact(exc)} ({kind})")
    return 1 if failures else 0
