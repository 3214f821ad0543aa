"""The embedded runtime: the whole pipeline in one process, nothing but Python.

Messages come from an in-process bus (the demo's simulated app publishes to it)
or from JSONL files (``driftd replay``); state goes to SQLite in the state
directory; alerts to the console and a JSONL log. It drives the same
:class:`~driftd.daemon.pipeline.Pipeline` the Kafka runtime drives.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path

from driftd.alerts.notify import ConsoleNotifier, Dispatcher, JsonlNotifier, Notifier
from driftd.config import Config
from driftd.consumers.deadletters import DeadLetterFile
from driftd.daemon.pipeline import Message, Pipeline
from driftd.store.sqlite import SqliteStore

STORE_FILE = "driftd.sqlite"
DEAD_LETTER_FILE = "dead-letters.jsonl"
ALERT_FILE = "alerts.jsonl"
OUTBOX_FILE = "outbox.sqlite"


def state_dir(config: Config) -> Path:
    path = Path(config.runtime.state_dir)
    return path if path.is_absolute() else Path(config.base_dir) / path


class EmbeddedBus:
    """An in-process stand-in for the topics: apps publish bytes, the runtime drains them."""

    def __init__(self) -> None:
        self._queue: deque[Message] = deque()
        self._offset = 0

    def publish(self, topic: str, value: bytes) -> None:
        self._queue.append((value, topic, self._offset))
        self._offset += 1

    def __len__(self) -> int:
        return len(self._queue)

    def drain(self) -> Iterator[Message]:
        while self._queue:
            yield self._queue.popleft()


def read_jsonl(paths: Iterable[str | Path]) -> Iterator[Message]:
    """Each non-blank line of each file is one message; source is 'file:line'."""
    for path in paths:
        with Path(path).open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                line = line.rstrip(b"\r\n")
                if line.strip():
                    yield line, f"{path}:{number}", number


def build_notifiers(config: Config, quiet: bool) -> list[Notifier]:
    notifiers: list[Notifier] = []
    for spec in config.notifiers:
        if spec.type == "console" and not quiet:
            notifiers.append(ConsoleNotifier(sys.stderr))
        elif spec.type == "jsonl":
            notifiers.append(JsonlNotifier(spec.path or state_dir(config) / ALERT_FILE))
    return notifiers


def registry_dir(config: Config) -> Path:
    path = Path(config.runtime.registry_dir)
    return path if path.is_absolute() else state_dir(config) / path


def retrain_listeners(config: Config) -> list:
    """File a retraining request when an alert named in a model's triggers fires."""
    if not any(spec.retrain is not None for spec in config.models.values()):
        return []
    from driftd.retrain.request_queue import RequestQueue
    from driftd.retrain.worker import alert_triggers

    return [alert_triggers(config, RequestQueue(registry_dir(config)))]


def build_pipeline(config: Config, fresh: bool = False, quiet: bool = False) -> Pipeline:
    """Wire the embedded pipeline; ``fresh`` discards the state directory's previous run."""
    directory = state_dir(config)
    directory.mkdir(parents=True, exist_ok=True)
    if fresh:
        for name in (
            STORE_FILE,
            f"{STORE_FILE}-wal",
            f"{STORE_FILE}-shm",
            DEAD_LETTER_FILE,
            ALERT_FILE,
            OUTBOX_FILE,
            f"{OUTBOX_FILE}-wal",
            f"{OUTBOX_FILE}-shm",
        ):
            (directory / name).unlink(missing_ok=True)
    store = SqliteStore(directory / STORE_FILE)
    alerting = None
    if config.alerting.routes:
        from driftd.alerts.outbox import SqliteOutbox
        from driftd.alerts.wiring import Alerting

        alerting = Alerting(
            config.alerting, SqliteOutbox(directory / OUTBOX_FILE), directory, store.history
        )
        alerting.start()
    pipeline = Pipeline(
        config,
        store,
        Dispatcher(build_notifiers(config, quiet), alerting, retrain_listeners(config)),
        DeadLetterFile(directory / DEAD_LETTER_FILE),
    )
    pipeline.restore()
    return pipeline


def run_messages(
    pipeline: Pipeline,
    messages: Iterable[Message],
    on_batch: Callable[[int], None] | None = None,
    checkpoint_every: int = 10,
) -> None:
    """Feed messages in batches; checkpoint every few batches and at the end.

    A replay is a batch job: at the end, alert groups are flushed without waiting
    out their group_wait, and delivery gets a bounded time to drain the outbox
    (what is still unsent stays in it for the next run).
    """
    size = pipeline.config.runtime.batch_size
    alerting = pipeline.dispatcher.alerting
    iterator = iter(messages)
    batches = 0
    while batch := list(islice(iterator, size)):
        pipeline.process(batch)
        batches += 1
        if batches % checkpoint_every == 0:
            pipeline.checkpoint()
        if alerting is not None:
            alerting.tick()
        if on_batch is not None:
            on_batch(len(batch))
    pipeline.evaluate_all()
    pipeline.checkpoint()
    if alerting is not None:
        alerting.tick(flush_all=True)
        alerting.stop(drain_seconds=30.0)
