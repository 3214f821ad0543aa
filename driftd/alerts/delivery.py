"""The delivery worker: sends what the outbox holds, retries, and says so when it cannot.

Runs in its own thread so a slow Slack never stalls the event stream. Each due item
goes through the retry stage (alerts/stages/retry.py: send, back off, give up); an
item given up on is counted, logged loudly and reported through the other
receivers. Items survive restarts in the outbox, so a restart resumes unsent
notifications; the notification id travels with every attempt as the idempotency
key. ``run_once`` is one pass, so tests drive delivery on a simulated clock.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable

from driftd.alerts.model import Alert, Notification, dedup_key
from driftd.alerts.outbox import Outbox
from driftd.alerts.receivers import Receiver
from driftd.alerts.stages.retry import RetryStage
from driftd.config.alerting import AlertingSpec

log = logging.getLogger("driftd.delivery")
REPORT_ROUTE = "driftd.delivery"  # where reports of lost notifications go


class DeliveryWorker:
    def __init__(
        self,
        outbox: Outbox,
        receivers: dict[str, Receiver],
        spec: AlertingSpec,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ):
        self.outbox = outbox
        self.receivers = receivers
        self.clock = clock
        self.retry = RetryStage(outbox, receivers, spec, clock, rng or random.Random(),
                                self._report)  # fmt: skip
        self.counts: Counter[tuple[str, str]] = Counter()  # (receiver, outcome)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one pass ---------------------------------------------------------------------

    def run_once(self) -> int:
        """Attempt every due item once; returns how many were attempted."""
        items = self.outbox.due(self.clock())
        for item in items:
            outcome = self.retry.exec(item)
            self.counts[(item.notification.receiver, outcome)] += 1
        return len(items)

    def _report(self, failed: Notification, error: str) -> None:
        """A notification given up on is itself news: tell the other receivers."""
        if failed.route == REPORT_ROUTE:  # never report a failed report
            return
        now = self.clock()
        alert = Alert(
            key=dedup_key("driftd", "notification_failed", failed.receiver),
            model="driftd",
            rule="notification_failed",
            metric=f"delivery.{failed.receiver}",
            state="firing",
            severity="critical",
            value=1.0,
            op=">=",
            threshold=1.0,
            first_event_time=now,
            event_time=now,
            description=f"Could not deliver '{failed.title()}' to {failed.receiver}: {error}. "
            "Check that receiver's settings.",
        )
        for receiver in self.receivers:
            if receiver == failed.receiver:
                continue
            report_id = hashlib.sha256(f"{failed.id}\x1f{receiver}".encode()).hexdigest()[:32]
            self.outbox.add(
                Notification(
                    id=report_id,
                    receiver=receiver,
                    route=REPORT_ROUTE,
                    group_key=REPORT_ROUTE,
                    group_labels={"model": "driftd"},
                    status="firing",
                    alerts=[alert],
                    created_at=now,
                    dashboard_url=failed.dashboard_url,
                )
            )
        self.wake()

    # -- the thread -------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="driftd-delivery", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
                next_due = self.outbox.next_due()
            except Exception:  # the store is away: try again shortly
                log.exception("delivery pass failed")
                next_due = None
            wait = 1.0 if next_due is None else min(max(next_due - self.clock(), 0.05), 1.0)
            self._wake.wait(wait)
            self._wake.clear()

    def drain(self, timeout: float) -> bool:
        """Wait until nothing is due now (for batch jobs and shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            next_due = self.outbox.next_due()
            if next_due is None or next_due > self.clock():
                return True
            self.wake()
            time.sleep(0.05)
        return False

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
