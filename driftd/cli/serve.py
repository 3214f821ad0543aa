"""`driftd serve` and `driftd status`: what driftd knows, over HTTP or in the terminal.

Both read a state directory (what an embedded replay or the demo left behind) or,
with ``--service`` (or its old name ``--redis``), the service's Redis store; `driftd
run` starts the same server itself. `status --service` also shows the consumer
group's lag per partition.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from rich.console import Console

from driftd.cli.progress import err
from driftd.config import Config, load_config
from driftd.daemon.builders import announcer, build_view, request_queue
from driftd.daemon.paths import state_dir
from driftd.daemon.web.api import Actions
from driftd.daemon.web.metrics import committed_lag_metrics
from driftd.daemon.web.server import StatusServer
from driftd.detectors import readings as names
from driftd.logs import apply_config


def cmd_serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    apply_config(config.runtime)
    view = build_view(config, args.service)
    server = StatusServer(
        view,
        args.host or config.http.host,
        config.http.port if args.port is None else args.port,
        config.http.token_env,
        extra_metrics=committed_lag_metrics(lambda: consumer_lag(config)) if args.service else None,
        actions=Actions(view, announcer(config, service=args.service),
                        request_queue(config, args.service)),
        allowed_hosts=config.http.allowed_hosts,
    ).start()
    err.print(f"driftd serving on http://{server.httpd.server_address[0]}:{server.port}/"
              "  (Ctrl-C to stop)")  # fmt: skip
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


HEADLINE = ("accuracy", names.estimated("accuracy"), "roc_auc", "mae")


def consumer_lag(config: Config) -> dict[str, list[tuple[str, int, int, int]]]:
    """Consumer group -> (topic, partition, committed, end) rows, from Kafka: the router's
    group on the event topics (with repartition) and the monitors' on what they read."""
    from driftd.consumers.kafka.clients import open_admin
    from driftd.daemon.service import monitored_topics

    admin = open_admin(config.kafka)
    try:
        topics = config.kafka.topics
        groups = {}
        if config.kafka.repartition:
            groups[f"{config.kafka.group_id}-router"] = [topics.predictions, topics.labels]
        groups[config.kafka.group_id] = monitored_topics(config)
        return {group: admin.group_lag(group, watched) for group, watched in groups.items()}
    finally:
        admin.close()


def _cell(metrics: dict, key: str, fmt: str) -> str:
    return "-" if metrics.get(key) is None else fmt.format(metrics[key])


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def cmd_status(args: argparse.Namespace) -> int:
    from rich.table import Table

    from driftd.detectors.evidence import why
    from driftd.events import format_timestamp

    config = load_config(args.config)
    view = build_view(config, args.service)
    console = Console(width=None if sys.stdout.isatty() else 160)
    shown = view.models()
    if all(model["event_time"] is None for model in shown):
        where = "the service's Redis" if args.service else f"{state_dir(config)}"
        err.print(f"No state yet in {where}: `driftd replay EVENTS --config ...` or "
                  "`driftd run` writes it.")  # fmt: skip
        return 1
    models = Table(title="models")
    for column in ("model", "last event", "predictions", "labels", *HEADLINE, "champion"):
        models.add_column(column, justify="left" if column in ("model", "last event") else "right")
    for model in shown:
        m = model["metrics"]
        models.add_row(
            model["model"],
            "-" if model["event_time"] is None else format_timestamp(model["event_time"]),
            *(_cell(m, names.event_count(k), "{:.0f}") for k in names.EVENT_KINDS),
            *(_cell(m, k, "{:.4g}") for k in HEADLINE),
            str(model["champion"] or "-"),
        )
    console.print(models)
    firing = Table(title="firing alerts")
    for column in ("model", "rule", "metric", "now", "at firing", "worst", "threshold",
                   "severity", "since", "why"):  # fmt: skip
        firing.add_column(column)
    for alert in view.alerts()["firing"]:
        firing.add_row(alert["model"], alert["rule"], alert["metric"],
                       *(_number(alert[k]) for k in ("current", "at_firing", "worst")),
                       f"{alert['op']} {alert['threshold']:g}", alert["severity"],
                       format_timestamp(alert["first_event_time"]), why(alert))  # fmt: skip
    console.print(firing if firing.row_count else "[green]No alert firing.[/]")
    if args.service:
        for group, rows in consumer_lag(config).items():
            lag = Table(title=f"consumer group {group}")
            for column in ("topic", "partition", "committed", "end", "lag"):
                lag.add_column(column)
            for topic, partition, committed, end in rows:
                lag.add_row(topic, str(partition), str(committed), str(end), str(end - committed))
            console.print(lag)
    return 0
