"""The grammar of the `driftd` command line: every command, option and example.

Handlers are named, not imported (``"stream:cmd_replay"``): parsing and ``--help``
import nothing heavy, and only the chosen command's module is loaded (see
:func:`driftd.cli.main.handler`). Each handler module (stream, alerts, models,
serve, dev) holds the code of its commands.
"""

from __future__ import annotations

import argparse
import getpass
import os

from driftd.cli.options import (
    config_option,
    log_level_option,
    port_option,
    seconds_option,
    service_option,
)

EXAMPLES = """\
start here:
  driftd demo                               a simulated model with injected problems
  driftd replay events.jsonl --fresh        recorded events through your config
  driftd status                             models, metrics, firing alerts
  driftd serve                              the dashboard and API (http://127.0.0.1:8080)

the service (Kafka + Redis):
  driftd topics create && driftd run        consume, monitor, alert
  driftd status --service                   the service's state, with consumer lag

the config is ./driftd.yaml unless --config FILE or $DRIFTD_CONFIG says otherwise.
exit codes: 0 ok, 1 failure or nothing to show, 2 usage or config error, 130 interrupted.
"""


def _command(sub: argparse._SubParsersAction, name: str, handler: str | None, text: str,
             example: str = "") -> argparse.ArgumentParser:  # fmt: skip
    parser = sub.add_parser(name, help=text, description=text,
                            epilog=f"example:\n  {example}" if example else None,
                            formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    if handler is not None:
        parser.set_defaults(func=handler)
    return parser


def _group(sub: argparse._SubParsersAction, name: str, text: str, dest: str,
           metavar: str) -> argparse._SubParsersAction:  # fmt: skip
    """A command made of sub-commands (``driftd topics create``): their action set."""
    return _command(sub, name, None, text).add_subparsers(dest=dest, required=True,
                                                          metavar=metavar)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftd", description="driftd keeps machine-learning models honest in production.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--log-level", type=log_level_option,
                        default=os.environ.get("DRIFTD_LOG_LEVEL", "WARNING"),
                        help="DEBUG, INFO, WARNING (default), ERROR; "
                             "$DRIFTD_LOG_LEVEL")  # fmt: skip
    parser.add_argument("--log-format", choices=["text", "json"],
                        default=os.environ.get("DRIFTD_LOG_FORMAT", "text"),
                        help="json: one object per line on stderr, for log pipelines")  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _stream(sub)
    _alerts(sub)
    _models(sub)
    _serve(sub)
    _dev(sub)
    return parser


def _stream(sub: argparse._SubParsersAction) -> None:
    demo = _command(sub, "demo", "stream:cmd_demo",
                    "simulate a production model with injected problems, end to end",
                    "driftd demo --predictions 5000 --no-retrain")  # fmt: skip
    demo.add_argument("--predictions", type=int, default=20000, help="how many (default 20000)")
    demo.add_argument("--seed", type=int, default=7, help="the simulation's seed")
    demo.add_argument("--state-dir", default=".driftd-demo", help="where its state goes")
    demo.add_argument("--save-events", metavar="FILE",
                      help="also write the simulated messages to this JSONL file")  # fmt: skip
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")
    demo.add_argument("--quiet", action="store_true", help="no progress bar or console alerts")
    demo.add_argument("--no-retrain", action="store_true",
                      help="stop after the first act (no retraining loop)")  # fmt: skip

    replay = _command(sub, "replay", "stream:cmd_replay",
                      "run recorded events (JSONL files) through the pipeline",
                      "driftd replay day1.jsonl day2.jsonl --fresh")  # fmt: skip
    config_option(replay)
    replay.add_argument("events", nargs="+", metavar="EVENTS.jsonl", help="one event per line")
    replay.add_argument("--fresh", action="store_true",
                        help="discard the state of earlier runs (else they continue)")  # fmt: skip
    replay.add_argument("--json", action="store_true", help="print the summary as JSON")
    replay.add_argument("--quiet", action="store_true", help="no progress bar or console alerts")

    run = _command(sub, "run", "stream:cmd_run", "the service: consume Kafka, keep state in Redis",
                   "driftd run --config prod.yaml --port 9100")  # fmt: skip
    config_option(run)
    run.add_argument("--engine", choices=["kafka", "faust"], default="kafka",
                     help="kafka: driftd's own loop (default); faust: Faust agents")  # fmt: skip
    run.add_argument("--idle-exit", type=seconds_option, default=None, metavar="SECONDS",
                     help="exit after the stream has been quiet this long "
                          "(batch jobs, tests)")  # fmt: skip
    run.add_argument("--quiet", action="store_true", help="no console alerts")
    run.add_argument("--port", type=port_option, default=None,
                     help="the HTTP server's port (default: http.port)")  # fmt: skip

    topics_sub = _group(sub, "topics", "Kafka topic tools", "topics_command", "ACTION")
    create = _command(topics_sub, "create", "stream:cmd_topics_create",
                      "create the event, dead-letter and repartition topics",
                      "driftd topics create")  # fmt: skip
    config_option(create)

    metrics = _command(sub, "metrics", "stream:cmd_metrics",
                       "the current value of every reading of one model",
                       "driftd metrics --model churn --json")  # fmt: skip
    config_option(metrics)
    metrics.add_argument("--model", required=True, help="the model id")
    metrics.add_argument("--json", action="store_true", help="as JSON")
    service_option(metrics)

    config_sub = _group(sub, "config", "config tools", "config_command", "ACTION")
    check = _command(config_sub, "check", "stream:cmd_config_check",
                     "validate a config file and its reference data; warn about what "
                     "will not work (unset secrets)",
                     "driftd config check --config prod.yaml")  # fmt: skip
    config_option(check)
    check.add_argument("file", nargs="?", default=None, metavar="FILE",
                       help="the config file (same as --config)")  # fmt: skip


def _alerts(sub: argparse._SubParsersAction) -> None:
    silence_sub = _group(sub, "silence", "mute matching alerts for a while",
                         "silence_command", "ACTION")  # fmt: skip
    add = _command(silence_sub, "add", "alerts:cmd_silence_add", "add a silence",
                   "driftd silence add -m model=churn -m rule='drift-*' --duration 2h "
                   "--comment 'backfill'")  # fmt: skip
    config_option(add)
    add.add_argument("--matcher", "-m", action="append", default=[], metavar="LABEL=GLOB",
                     help="LABEL in model, rule, metric, severity "
                          "(repeatable; all must match)")  # fmt: skip
    add.add_argument("--duration", default="2h", help="e.g. 30m, 2h, 1d (default 2h)")
    add.add_argument("--comment", default="", help="why, for whoever sees it next")
    add.add_argument("--author", default=getpass.getuser(), help="default: your user name")
    service_option(add)
    listing = _command(silence_sub, "list", "alerts:cmd_silence_list", "list silences",
                       "driftd silence list --all")  # fmt: skip
    config_option(listing)
    listing.add_argument("--all", action="store_true", help="include expired ones")
    service_option(listing)
    expire = _command(silence_sub, "expire", "alerts:cmd_silence_expire", "end a silence now",
                      "driftd silence expire 3f2a9c")  # fmt: skip
    config_option(expire)
    expire.add_argument("id", help="the silence's id (from `driftd silence list`)")
    service_option(expire)

    alerts_sub = _group(sub, "alerts", "alert tools", "alerts_command", "ACTION")
    test = _command(alerts_sub, "test", "alerts:cmd_alerts_test",
                    "send a sample alert through a route's receivers",
                    "driftd alerts test --route oncall")  # fmt: skip
    config_option(test)
    test.add_argument("--route", required=True, help="a route name from alerting.routes")


def _models(sub: argparse._SubParsersAction) -> None:
    worker = _command(sub, "retrain-worker", "models:cmd_retrain_worker",
                      "retrain models on request, on schedule and on alerts",
                      "driftd retrain-worker --service")  # fmt: skip
    config_option(worker)
    service_option(worker)
    worker.add_argument("--once", action="store_true", help="run pending requests and exit")
    worker.add_argument("--quiet", action="store_true", help="no progress bar with --once")

    retrain = _command(sub, "retrain", "models:cmd_retrain", "ask the worker to retrain a model",
                       "driftd retrain churn --reason 'new season' --now")  # fmt: skip
    retrain.add_argument("model", help="the model id")
    config_option(retrain)
    retrain.add_argument("--reason", default="", help="recorded with the run")
    retrain.add_argument("--now", action="store_true", help="run it here and now")
    retrain.add_argument("--quiet", action="store_true", help="no progress bar")
    service_option(retrain)

    models_sub = _group(sub, "models", "the model registry: versions, champion, rollback",
                        "models_command", "ACTION")  # fmt: skip
    for name, text in (("list", "versions and aliases"),
                       ("show", "one version's metadata (default: the champion)"),
                       ("promote", "make a version the champion"),
                       ("rollback", "back to the previous champion"),
                       ("register", "make a model already in production a version "
                                    "(the champion if there is none)")):  # fmt: skip
        argument = {"promote": " 3", "register": " churn.skops"}.get(name, "")
        example = f"driftd models {name} churn{argument}"
        command = _command(models_sub, name, f"models:cmd_models_{name}", text, example)
        command.add_argument("model", help="the model id")
        config_option(command)
        if name in ("show", "promote"):
            command.add_argument("version", type=int, nargs="?" if name == "show" else None,
                                 help="a version number")  # fmt: skip
        if name == "register":
            command.add_argument("artifact", help="a skops file, or an MLflow artifact URI "
                                 "(models:/NAME/VERSION/model.skops) with registry.kind mlflow")
            command.add_argument("--promote", action="store_true",
                                 help="make it the champion even if there is one")
        if name in ("promote", "rollback", "register"):
            service_option(command)


def _serve(sub: argparse._SubParsersAction) -> None:
    status = _command(sub, "status", "serve:cmd_status",
                      "models, current metrics, firing alerts (and lag, with --service)",
                      "driftd status --service")  # fmt: skip
    config_option(status)
    service_option(status)

    serve = _command(sub, "serve", "serve:cmd_serve", "the dashboard, HTTP API and metrics",
                     "driftd serve --port 8080")  # fmt: skip
    config_option(serve)
    serve.add_argument("--host", default=None, help="default: http.host (127.0.0.1)")
    serve.add_argument("--port", type=port_option, default=None,
                       help="default: http.port; 0 = any free port")  # fmt: skip
    service_option(serve)


def _dev(sub: argparse._SubParsersAction) -> None:
    dev_sub = _group(sub, "dev", "developer tools: a local Kafka and Redis without Docker",
                     "dev_command", "TOOL")  # fmt: skip
    actions = _group(dev_sub, "services", "start or stop a local Kafka and Redis", "action",
                     "ACTION")  # fmt: skip
    for name, text in (("up", "start both in the background"),
                       ("down", "stop what `up` started"),
                       ("status", "whether they are running")):  # fmt: skip
        action = _command(actions, name, f"dev:cmd_{name}", text, f"driftd dev services {name}")
        action.add_argument("--dir", default=".driftd-dev",
                            help="their data and services.json (default .driftd-dev)")  # fmt: skip
        if name == "up":
            action.add_argument("--kafka-port", type=port_option, default=9092,
                                help="default 9092")  # fmt: skip
            action.add_argument("--redis-port", type=port_option, default=6379,
                                help="default 6379")  # fmt: skip
