"""`driftd demo | replay | run | topics create | metrics | config check`: the stream's commands.

The pipeline (detectors, scipy, scikit-learn) is imported inside the commands that run
it, so a config error or a missing file answers at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from rich.console import Console

from driftd.cli.progress import err, progress_bar
from driftd.config import Config, ConfigError, load_config
from driftd.config.problems import unset_secrets
from driftd.daemon.paths import STORE_FILE, state_dir

if TYPE_CHECKING:
    from driftd.consumers.local import Message
    from driftd.consumers.source import Source
    from driftd.daemon.pipeline import Pipeline


def _run(pipeline: Pipeline, source: Source, total: int | None, quiet: bool, label: str) -> None:
    from driftd.daemon.embedded import run_source
    from driftd.daemon.gctune import tune_gc

    tune_gc()
    with progress_bar(quiet) as progress:
        task = progress.add_task(label, total=total)
        run_source(pipeline, source, on_batch=lambda n: progress.advance(task, n))


def _emit(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(msgspec.json.encode(summary).decode() + "\n")
    else:
        from driftd.cli.summary import print_summary

        print_summary(summary, Console(width=None if sys.stdout.isatty() else 140))


def cmd_demo(args: argparse.Namespace) -> int:
    from driftd.cli.summary import summarize
    from driftd.consumers.local import MessageSource
    from driftd.daemon.embedded import build_pipeline
    from driftd.demo import app as demo

    state = Path(args.state_dir)
    config = load_config(demo.prepare(state, args.seed))
    pipeline = build_pipeline(config, fresh=True, quiet=args.json or args.quiet)
    app = demo.DemoApp(args.predictions, args.seed)
    published = app.messages()
    if args.save_events:
        Path(args.save_events).write_bytes(b"".join(raw + b"\n" for raw in published))
    messages: Iterator[Message] = ((raw, "demo", i) for i, raw in enumerate(published))
    registry = None
    if not args.no_retrain:
        from driftd.demo.loop import register_production_model

        registry = register_production_model(config, args.seed)
    _run(pipeline, MessageSource(messages), len(published), args.json or args.quiet,
         "demo: simulated traffic")  # fmt: skip
    loop = None
    if registry is not None:
        from driftd.demo.loop import second_act

        loop = second_act(config, pipeline, app, registry)
    summary = summarize(pipeline)
    if loop is not None:
        summary["loop"] = loop
    summary["injections"] = [injection.as_dict() for injection in app.injections]
    summary["state_dir"] = str(state.resolve())
    _emit(summary, args.json)
    if not args.json:
        _demo_epilogue(state, summary, Console())
    return 0


def _demo_epilogue(state: Path, summary: dict[str, Any], console: Console) -> None:
    """What the demo's numbers mean, and where to look next."""
    from driftd.demo.app import MODEL_ID

    reasons = summary["events"]["dead_letter_reasons"]
    if reasons:
        console.print(
            f"[bold]The {sum(reasons.values())} dead letters are deliberate:[/] a broken "
            "producer that bypasses the SDK sends truncated JSON (malformed_json), a typo in "
            "the model id (unknown_model) and a renamed field (invalid_schema). Each was set "
            f"aside with its bytes and reason in {state}/dead-letters.jsonl; nothing else "
            "stopped.", soft_wrap=True)  # fmt: skip
    config = state / "config.yaml"
    console.print(
        f"[bold]Open the dashboard:[/] driftd serve --config {config}\n"
        f"  then http://127.0.0.1:8080/models/{MODEL_ID}  (alert log, state and dead "
        f"letters are in {state}/)", soft_wrap=True)  # fmt: skip


def _count_lines(paths: list[str]) -> int:
    total = 0
    for path in paths:
        with open(path, "rb") as handle:
            total += sum(1 for line in handle if line.strip())
    return total


def cmd_replay(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    for path in args.events:
        if not Path(path).exists():
            raise ConfigError("", f"events file {path!r} does not exist")
    from driftd.cli.summary import summarize
    from driftd.consumers.local import MessageSource, jsonl_messages
    from driftd.daemon.embedded import build_pipeline

    pipeline = build_pipeline(config, fresh=args.fresh, quiet=args.json or args.quiet)
    total = _count_lines(args.events)
    before = _dead_letters(pipeline)
    _run(pipeline, MessageSource(jsonl_messages(args.events)), total, args.json or args.quiet,
         "replay")  # fmt: skip
    _emit(summarize(pipeline), args.json)
    after = _dead_letters(pipeline)
    repeated = after.get("duplicate_event_id", 0) - before.get("duplicate_event_id", 0)
    if repeated:
        err.print(f"[yellow]{repeated:,} of {total:,} events were already counted by an earlier "
                  f"run in {state_dir(config)} (dead letters: duplicate_event_id). To start "
                  "over, replay with --fresh.[/]")  # fmt: skip
    # Exit 1 when nothing new was counted: every event a dead letter, repeats among them.
    refused = sum(after.values()) - sum(before.values())
    return 1 if repeated and refused >= total else 0


def _dead_letters(pipeline: Pipeline) -> dict[str, int]:
    return dict(pipeline.event_counts()["dead_letter_reasons"])


def cmd_run(args: argparse.Namespace) -> int:
    from driftd.daemon.lifecycle import run_service

    config = load_config(args.config)
    if args.port is not None:  # e.g. two daemons on one machine
        if not 0 <= args.port <= 65535:
            raise ConfigError("--port", f"must be 0..65535, got {args.port}")
        config.http.port = args.port
    return run_service(config, args.engine, args.idle_exit, args.quiet)


def cmd_topics_create(args: argparse.Namespace) -> int:
    from driftd.daemon.service import ensure_topics

    config = load_config(args.config)
    counts = ensure_topics(config, create=True)
    for name, count in counts.items():
        Console().print(f"[green]ok[/] {name}: {count} partition(s)")
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.model not in config.models:
        raise ConfigError(
            "", f"model {args.model!r} is not in the config ({', '.join(config.models)})"
        )
    if args.service:
        from driftd.daemon.builders import redis_store

        latest = redis_store(config).latest_readings(args.model)
    else:
        path = state_dir(config) / STORE_FILE
        if not path.exists():
            err.print(f"[red]No state yet at {path}: run `driftd replay` or the daemon first.[/]")
            return 1
        from driftd.store.sqlite import SqliteStore

        store = SqliteStore(path)
        latest = store.latest_readings(args.model)
        store.close()
    if latest is None:
        err.print(f"[yellow]No readings for model {args.model!r} yet.[/]")
        return 1
    event_time, readings = latest
    if args.json:
        sys.stdout.write(
            msgspec.json.encode(
                {"model": args.model, "event_time": event_time, "metrics": readings}
            ).decode()
            + "\n"
        )
        return 0
    from rich.table import Table

    from driftd.events import format_timestamp

    table = Table(title=f"{args.model} at {format_timestamp(event_time)}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name in sorted(readings):
        value = readings[name]
        table.add_row(name, "-" if value is None else f"{value:.6g}")
    Console().print(table)
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    path = args.file or args.config
    config: Config = load_config(path)
    from driftd.daemon.catalog import ModelCatalog  # loads the reference data
    from driftd.detectors.reference_check import in_sample_evidence

    catalog = ModelCatalog(config)
    pipeline_rules = catalog.rule_counts()
    console = Console()
    console.print(
        f"[green]OK[/] {path}: {len(config.models)} model(s): "
        + ", ".join(
            f"{m} ({s.task}, {len(s.features)} features, {pipeline_rules[m]} rules)"
            for m, s in config.models.items()
        )
    )
    for model_id, context in catalog.contexts.items():
        if (evidence := in_sample_evidence(context)) is not None:
            console.print(f"[yellow]warning[/] {evidence.message(model_id)}", soft_wrap=True)
    for where, variable in unset_secrets(config):
        effect = ("the API's write endpoints stay disabled" if where == "http.token_env"
                  else "what needs it will fail when used")  # fmt: skip
        console.print(f"[yellow]warning[/] {where}: environment variable {variable} (or "
                      f"{variable}_FILE) is not set; {effect}", soft_wrap=True)  # fmt: skip
    return 0
