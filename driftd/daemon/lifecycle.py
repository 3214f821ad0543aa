"""`driftd run`: the service from start to a clean stop.

Signal handlers first (a SIGTERM while connecting still ends in a clean exit 0), then
the topics' check, the engine (the driver loop, or faust), the broker probe and the
HTTP server. SIGTERM/SIGINT stop polling; the driver finishes the batch,
checkpoints, commits and leaves the group, so its partitions move at once. SIGUSR1
prints every thread's Python stack to stderr and goes on: a daemon that stopped making
progress shows where it waits without being stopped.
"""

from __future__ import annotations

import faulthandler
import logging
import signal
import sys
import threading

from driftd.config import Config
from driftd.consumers.kafka.probe import BrokerProbe
from driftd.consumers.router import start_router, wait_stopped
from driftd.daemon.driver import Driver
from driftd.daemon.gctune import tune_gc
from driftd.daemon.service import build_kafka_runtime, build_router, ensure_topics, start_http
from driftd.logs import apply_config

log = logging.getLogger("driftd.service")


def run_service(
    config: Config, engine: str = "kafka", idle_timeout: float | None = None, quiet: bool = False
) -> int:
    apply_config(config.runtime)
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
    if engine == "faust":
        from driftd.daemon.faust_engine import run_faust

        return run_faust(config, quiet=quiet)
    # Handlers first: a SIGTERM while connecting still ends in a clean exit 0.
    started: list[Driver] = []
    stopping = threading.Event()

    def stop(signum: int, _frame: object) -> None:
        log.warning(
            "received %s: finishing the batch, checkpointing, leaving the group",
            signal.Signals(signum).name,
        )
        stopping.set()
        for runtime in started:
            runtime.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    counts = ensure_topics(config, create=False)
    router = build_router(config, counts, stopping)
    runtime = build_kafka_runtime(config, quiet, counts,
                                  router.busy if router is not None else None)  # fmt: skip
    started.append(runtime)
    if stopping.is_set():
        runtime.stop()
    routing = start_router(router) if router is not None else None
    log.info(
        "driftd run: group %s on %s (%s client), state in Redis namespace %s:%s",
        config.kafka.group_id,
        config.kafka.bootstrap_servers,
        config.kafka.client,
        config.redis.namespace,
        config.kafka.group_id,
    )
    server = probe = None
    if config.http.enabled:
        probe = BrokerProbe(config.kafka, config.kafka.topics.predictions).start()
        server = start_http(config, runtime, probe, router)
    tune_gc()
    try:
        runtime.run(idle_timeout=idle_timeout)
    finally:
        stopping.set()
        if routing is not None:
            wait_stopped(routing)
        if server is not None:
            server.stop()
        if probe is not None:
            probe.stop()
    return 0
