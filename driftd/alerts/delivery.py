"""The delivery worker: sends what the outbox holds, retries, and says so when it cannot.

Runs in its own thread so a slow Slack never stalls the event stream. For each
due item: send it through its receiver's channel; on success mark it delivered;
on a retryable failure schedule the next attempt after an exponential backoff
with jitter, never earlier than the receiver's ``Retry-After``; on a permanent
failure (4xx, SMTP authentication) or after ``max_attempts``, mark it failed,
count it, log it loudly and report it through the other receivers. Items
survive restarts in the outbox, so a restart resumes unsent notifications; the
notification id travels with every attempt as the idempotency key.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable

from driftd.alerts.channels import Channel, DeliveryError
from driftd.alerts.model import Alert, Notification, dedup_key
from driftd.alerts.outbox import Outbox, OutboxItem
from driftd.config.alerting import AlertingSpec
from driftd.credentials import redact

log = logging.getLogger("driftd.delivery")


def backoff(attempt: int, initial: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with 'equal jitter': half fixed, half random (never zero)."""
    delay = min(cap, initial * (2**attempt))
    return delay / 2 + rng.uniform(0, delay / 2)


class DeliveryWorker:
    def __init__(
        self,
        outbox: Outbox,
        channels: dict[str, Channel],
        spec: AlertingSpec,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ):
        self.outbox = outbox
        self.channels = channels
        self.spec = spec
        self.clock = clock
        self.rng = rng or random.Random()
        self.counts: Counter[tuple[str, str]] = Counter()  # (receiver, outcome)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one pass ---------------------------------------------------------------------

    def run_once(self) -> int:
        """Attempt every due item once; returns how many were attempted."""
        items = self.outbox.due(self.clock())
        for item in items:
            self._attempt(item)
        return len(items)

    def _attempt(self, item: OutboxItem) -> None:
        notification = item.notification
        channel = self.channels.get(notification.receiver)
        if channel is None:
            self._give_up(item, f"receiver {notification.receiver!r} is not configured")
            return
        try:
            channel.send(notification)
        except DeliveryError as exc:
            error = redact(exc)
            attempts = item.attempts + 1
            if not exc.retryable or attempts >= self.spec.max_attempts:
                why = error if not exc.retryable else f"{error} (gave up after {attempts} attempts)"
                self._give_up(item, why)
                return
            delay = backoff(
                item.attempts, float(self.spec.retry_initial), float(self.spec.retry_max), self.rng
            )
            if exc.retry_after is not None:
                delay = max(delay, exc.retry_after)
            self.counts[(notification.receiver, "retried")] += 1
            log.warning(
                "notification %s to %s failed (attempt %d): %s; retrying in %.1fs",
                notification.id, notification.receiver, attempts, error, delay,
            )  # fmt: skip
            self.outbox.retry(item, self.clock() + delay, error)
            return
        except Exception as exc:  # a bug in a channel: keep the item, retry later
            error = redact(f"{type(exc).__name__}: {exc}")
            log.exception("channel %s crashed on %s", notification.receiver, notification.id)
            self.outbox.retry(item, self.clock() + float(self.spec.retry_max), error)
            return
        self.outbox.delivered(item, self.clock())
        self.counts[(notification.receiver, "delivered")] += 1

    def _give_up(self, item: OutboxItem, error: str) -> None:
        notification = item.notification
        self.outbox.failed(item, error)
        self.counts[(notification.receiver, "failed")] += 1
        log.error(
            "NOTIFICATION LOST to receiver %s: %s (notification %s: %s)",
            notification.receiver, error, notification.id, notification.title(),
        )  # fmt: skip
        if notification.route != "driftd.delivery":  # never report a failed report
            self._report(notification, error)

    def _report(self, failed: Notification, error: str) -> None:
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
        for receiver in self.channels:
            if receiver == failed.receiver:
                continue
            report_id = hashlib.sha256(f"{failed.id}\x1f{receiver}".encode()).hexdigest()[:32]
            self.outbox.add(
                Notification(
                    id=report_id,
                    receiver=receiver,
                    route="driftd.delivery",
                    group_key="driftd.delivery",
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
