"""The alerting stack over one outbox: the manager (grouping, pacing, the stages that
decide what to send) and the delivery worker (the thread that sends it), with the
receivers built from the config (secrets resolved) by the receiver registry."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from driftd.alerts.delivery import DeliveryWorker
from driftd.alerts.manager import AlertManager, History
from driftd.alerts.outbox import Outbox
from driftd.alerts.receivers import ReceiverContext
from driftd.alerts.receivers.registry import build_receivers
from driftd.config.alerting import AlertingSpec


class Alerting:
    def __init__(
        self,
        spec: AlertingSpec,
        outbox: Outbox,
        state_dir: Path,
        history: History | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.outbox = outbox
        self.manager = AlertManager(spec, outbox, clock, history)
        receivers = build_receivers(spec, ReceiverContext(Path(state_dir), outbox))
        self.worker = DeliveryWorker(outbox, receivers, spec, clock)

    def start(self) -> None:
        self.worker.start()

    def tick(self, flush_all: bool = False) -> None:
        if self.manager.tick(flush_all):
            self.worker.wake()

    def stop(self, drain_seconds: float = 10.0) -> None:
        self.worker.drain(drain_seconds)
        self.worker.stop()
