"""The embedded runtime: the whole pipeline in one process, nothing but Python.

Messages come from a local source (the in-process broker the demo's app publishes
to, JSONL files for ``driftd replay``, any iterable of messages); state goes to
SQLite in the state directory; alerts to the alert log (console, JSONL) and, when
routes are configured, through a SQLite outbox to their receivers. The driver loop
is the service's (daemon/driver.py), over one partition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from driftd.alerts.dispatch import Dispatcher
from driftd.config import Config
from driftd.consumers.deadletters import DeadLetterFile
from driftd.consumers.local import Message, MessageSource
from driftd.consumers.source import Source
from driftd.daemon.blas import one_blas_thread
from driftd.daemon.builders import log_receivers, retrain_listeners
from driftd.daemon.driver import CheckpointPolicy, Driver
from driftd.daemon.partitions import PartitionSet, PartitionWorker
from driftd.daemon.paths import DEAD_LETTER_FILE, OUTBOX_FILE, RUN_FILES, STORE_FILE, state_dir
from driftd.daemon.pipeline import Pipeline
from driftd.store.sqlite import SqliteStore

CHECKPOINT_EVERY_BATCHES = 10


def build_pipeline(config: Config, fresh: bool = False, quiet: bool = False) -> Pipeline:
    """Wire the embedded pipeline; ``fresh`` discards the state directory's previous run."""
    directory = state_dir(config)
    directory.mkdir(parents=True, exist_ok=True)
    if fresh:
        for name in RUN_FILES:
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
    one_blas_thread()  # before the catalog calibrates the sequential tests
    pipeline = Pipeline(
        config,
        store,
        Dispatcher(log_receivers(config, quiet), alerting, retrain_listeners(config)),
        DeadLetterFile(directory / DEAD_LETTER_FILE),
    )
    pipeline.restore()
    return pipeline


def run_source(
    pipeline: Pipeline,
    source: Source,
    on_batch: Callable[[int], None] | None = None,
    checkpoint_every: int = CHECKPOINT_EVERY_BATCHES,
) -> None:
    """Drive ``pipeline`` over a local source until it is used up: a batch job that
    checkpoints every few batches and at the end, then flushes and delivers alerts."""
    partitions = PartitionSet(lambda n: PartitionWorker(n, pipeline, pipeline.store, False))
    topics = pipeline.config.kafka.topics
    Driver(
        source,
        [topics.predictions, topics.labels],
        partitions,
        pipeline.dispatcher,
        pipeline.config.runtime.batch_size,
        CheckpointPolicy(every_batches=checkpoint_every),
        on_batch=on_batch,
    ).run()


def run_messages(
    pipeline: Pipeline,
    messages: Iterable[Message],
    on_batch: Callable[[int], None] | None = None,
    checkpoint_every: int = CHECKPOINT_EVERY_BATCHES,
) -> None:
    """``run_source`` over messages: ``(raw bytes, origin, offset)`` each."""
    run_source(pipeline, MessageSource(messages), on_batch, checkpoint_every)
