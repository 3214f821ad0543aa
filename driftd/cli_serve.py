"""`driftd serve`: the HTTP server over a state directory (or the service's Redis store).

`driftd run` starts the same server itself; this command shows what an embedded
replay or the demo left behind, or looks at a production Redis from a laptop.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from rich.console import Console

from driftd.config import Config, load_config
from driftd.daemon.embedded import ALERT_FILE, OUTBOX_FILE, STORE_FILE, registry_dir, state_dir
from driftd.daemon.http import Actions, StatusServer
from driftd.daemon.state_view import StateView
from driftd.retrain.registry import Registry


def build_view(config: Config, use_redis: bool) -> StateView:
    directory = state_dir(config)
    if use_redis:
        from driftd.alerts.outbox import RedisOutbox
        from driftd.daemon.service import redis_client, redis_store

        client = redis_client(config)
        store, outbox = redis_store(config, client), RedisOutbox(client, config.redis.namespace)
    else:
        from driftd.alerts.outbox import SqliteOutbox
        from driftd.store.sqlite import SqliteStore

        directory.mkdir(parents=True, exist_ok=True)
        store = SqliteStore(directory / STORE_FILE)
        outbox = SqliteOutbox(directory / OUTBOX_FILE)
    return StateView(config, store, Path(directory) / ALERT_FILE, outbox,
                     Registry(registry_dir(config)))  # fmt: skip


def cmd_serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    from driftd.logs import apply_config

    apply_config(config.runtime)
    view = build_view(config, args.redis)
    server = StatusServer(
        view,
        args.host or config.http.host,
        config.http.port if args.port is None else args.port,
        config.http.token_env,
        actions=Actions(view),
    ).start()
    Console(stderr=True).print(f"driftd serving on http://{server.httpd.server_address[0]}:"
                               f"{server.port}/  (Ctrl-C to stop)")  # fmt: skip
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="the HTTP API and metrics over a state directory")
    serve.add_argument("--config", required=True)
    serve.add_argument("--host", default=None, help="default: http.host (127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="default: http.port; 0 = any")
    serve.add_argument("--redis", action="store_true", help="the service's Redis store")
    serve.set_defaults(func=cmd_serve)
