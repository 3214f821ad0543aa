"""Is the broker answering? Asked in the background so /readyz never blocks on Kafka.

A metadata request every ``interval`` seconds through the admin client (not the
consumer: kafka-python's consumer is not thread-safe, and a probe must not stall the
polling loop). The broker counts as reachable while the last success is recent.
"""

from __future__ import annotations

import logging
import threading
import time

from driftd.config.services import KafkaSpec
from driftd.consumers.kafka.clients import open_admin
from driftd.consumers.source import Admin

log = logging.getLogger("driftd.probe")


class BrokerProbe:
    def __init__(self, spec: KafkaSpec, topic: str, interval: float = 5.0):
        self.spec = spec
        self.topic = topic
        self.interval = interval
        self.stale_after = 3 * interval
        self.last_ok: float | None = None
        self.last_error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="driftd-probe")

    def start(self) -> BrokerProbe:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the probe to end; a metadata call in flight is not waited out (the thread
        is a daemon), so a dead broker cannot stretch a SIGTERM past its bound."""
        self._stop.set()
        self._thread.join(timeout=1)

    def reachable(self) -> bool:
        return self.last_ok is not None and time.monotonic() - self.last_ok < self.stale_after

    def _loop(self) -> None:
        admin: Admin | None = None
        while not self._stop.is_set():
            try:
                if admin is None:
                    admin = open_admin(self.spec)
                if admin.partition_count(self.topic) is None:
                    raise RuntimeError(f"topic {self.topic} is missing")
                self.last_ok = time.monotonic()
                self.last_error = ""
            except Exception as exc:  # unreachable, or the client gave up: report, retry
                if self.last_error != str(exc):
                    log.warning("broker probe failed: %s", exc)
                self.last_error = str(exc)
            self._stop.wait(self.interval)
        if admin is not None:
            admin.close()
