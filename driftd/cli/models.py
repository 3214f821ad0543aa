"""`driftd retrain-worker`, `driftd retrain MODEL`, `driftd models list|show|promote|rollback`.

Embedded by default (labeled events from the SQLite store in the state directory);
``--service`` reads them from the service's Redis store and announces promotions
on the Kafka models topic. Every promotion or rollback is also appended to
``<registry>/<model>/events.jsonl``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from typing import Literal

from rich.console import Console
from rich.table import Table

from driftd.cli.progress import run_stages
from driftd.config import Config, ConfigError, load_config
from driftd.daemon.builders import (
    announcer,
    log_receivers,
    model_registry,
    redis_store,
    request_queue,
)
from driftd.daemon.paths import STORE_FILE, state_dir
from driftd.retrain.announce import switch_champion
from driftd.retrain.registry import ModelRegistry
from driftd.store import Store

out = Console(width=None if sys.stdout.isatty() else 160)


def _registry(config: Config, model: str | None = None) -> ModelRegistry:
    trusted: list[str] = []
    if model is not None:
        if model not in config.models:
            raise ConfigError("", f"model {model!r} is not in the config")
        spec = config.models[model].retrain
        trusted = spec.trusted_types if spec else []
    return model_registry(config, trusted)


def _store(config: Config, service: bool) -> Store:
    if service:
        return redis_store(config)
    from driftd.store.sqlite import SqliteStore

    return SqliteStore(state_dir(config) / STORE_FILE)


def build_worker(config: Config, service: bool):
    from driftd.alerts.dispatch import Dispatcher
    from driftd.retrain.worker import RetrainWorker

    registry = model_registry(
        config,
        sorted({t for s in config.models.values() if s.retrain for t in s.retrain.trusted_types}),
    )
    return RetrainWorker(
        config,
        _store(config, service),
        registry,
        request_queue(config, service),
        Dispatcher(log_receivers(config, quiet=False)),
        announcer(config, service),
    )


def cmd_retrain_worker(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from driftd.logs import apply_config

    apply_config(config.runtime)
    worker = build_worker(config, args.service)
    if not worker.models():
        raise ConfigError("models", "no model has a retrain section")
    if args.once:
        with run_stages(args.quiet) as progress:
            results = worker.run_pending(progress)
        for result in results:
            out.print(f"{result.model}: {result.status} (version {result.version}) "
                      f"report {result.report_path}")  # fmt: skip
        return 0 if all(r.status != "failed" for r in results) else 1
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone="UTC")
    worker.schedule(scheduler)
    out.print(f"retrain-worker: watching {', '.join(worker.models())}")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):  # SIGINT/SIGTERM: stop cleanly
        scheduler.start()
    return 0


def cmd_retrain(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    spec = config.models.get(args.model)
    if spec is None:
        known = ", ".join(sorted(config.models))
        raise ConfigError("models", f"model {args.model!r} is not in the config (it has {known})")
    if spec.retrain is None:
        raise ConfigError(f"models.{args.model}.retrain", "no retrain section for this model")
    request_queue(config, args.service).put(args.model, f"asked by hand: {args.reason}")
    out.print(f"retraining of {args.model} requested")
    if not args.now:
        return 0
    with run_stages(args.quiet) as progress:
        results = build_worker(config, args.service).run_pending(progress)
    for result in results:
        out.print(f"{result.model}: {result.status} (version {result.version}); "
                  f"report {result.report_path}")  # fmt: skip
    return 0 if results and all(r.status != "failed" for r in results) else 1


def cmd_models_list(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    registry = _registry(config, args.model)
    aliases = registry.aliases(args.model)
    table = Table(title=f"{args.model} versions")
    for column in ("version", "aliases", "registered", "holdout", "gates", "sha256"):
        table.add_column(column)
    for version in registry.versions(args.model):
        meta = registry.meta(args.model, version)
        gates = meta.get("gates", {})
        table.add_row(
            str(version),
            ", ".join(k for k, v in aliases.items() if v == version),
            time.strftime("%Y-%m-%d %H:%M", time.gmtime(meta["registered_at"])),
            f"{meta.get('metrics', {}).get('holdout', float('nan')):.4f}",
            "all passed" if gates and all(gates.values()) else
            ", ".join(k for k, v in gates.items() if not v) or "-",
            meta["sha256"][:12],
        )  # fmt: skip
    out.print(table)
    trial = registry.trial(args.model)
    if trial is not None:
        last = trial.get("last") or {}
        out.print(f"Version {trial['version']} is on live {trial['mode']} trial against "
                  f"{trial['champion']} until "
                  f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(trial['deadline_at']))} UTC; "
                  f"last check: {last.get('why', 'not checked yet')}", soft_wrap=True)  # fmt: skip
    return 0


def cmd_models_show(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    registry = _registry(config, args.model)
    version = args.version or registry.champion(args.model)
    if version is None:
        out.print(f"[red]{args.model} has no champion yet[/]")
        return 1
    sys.stdout.write(json.dumps(registry.meta(args.model, version), indent=2, default=str) + "\n")
    return 0


def _switch(args: argparse.Namespace, action: Literal["promote", "rollback"]) -> int:
    config = load_config(args.config)
    registry = _registry(config, args.model)
    before, champion = switch_champion(registry, args.model, action,
                                       announcer(config, args.service),
                                       getattr(args, "version", None))  # fmt: skip
    out.print(f"{args.model}: champion {before} -> {champion}")
    return 0


def cmd_models_promote(args: argparse.Namespace) -> int:
    return _switch(args, "promote")


def cmd_models_rollback(args: argparse.Namespace) -> int:
    return _switch(args, "rollback")


def cmd_models_register(args: argparse.Namespace) -> int:
    from driftd.retrain.onboard import register_existing

    config = load_config(args.config)
    registry = _registry(config, args.model)
    spec = config.models[args.model]
    trusted = spec.retrain.trusted_types if spec.retrain else []
    version, meta = register_existing(registry, args.model, spec, args.artifact, trusted,
                                      config.registry)  # fmt: skip
    scored = meta.get("metrics", {}).get("reference")
    quality = ""
    if scored is not None:
        quality = f"; {meta['reference_metric']} {scored:.4f} on the reference"
    out.print(f"{args.model}: registered version {version} "
              f"(sha256 {meta['sha256'][:12]}){quality}")  # fmt: skip
    if args.promote or registry.champion(args.model) is None:
        before, champion = switch_champion(registry, args.model, "promote",
                                           announcer(config, args.service), version)  # fmt: skip
        out.print(f"{args.model}: champion {before} -> {champion}")
    return 0
