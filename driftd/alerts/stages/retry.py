"""The retry stage: one attempt at sending an outbox item, and what follows from it.

Send through the item's receiver; on success mark it delivered; on a retryable
failure schedule the next attempt after an exponential backoff with jitter, never
earlier than the receiver's ``Retry-After``; on a permanent failure (4xx, SMTP
authentication) or after ``max_attempts``, mark it failed, log it loudly and hand
it to ``on_give_up`` (the worker reports it through the other receivers). Time comes
from ``clock`` and jitter from ``rng``, so tests drive retries without sleeping.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Literal

from driftd.alerts.model import Notification
from driftd.alerts.outbox import Outbox, OutboxItem
from driftd.alerts.receivers import DeliveryError, Receiver
from driftd.config.alerting import AlertingSpec
from driftd.credentials import redact

log = logging.getLogger("driftd.delivery")

Outcome = Literal["delivered", "retried", "failed"]


def backoff(attempt: int, initial: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with 'equal jitter': half fixed, half random (never zero)."""
    delay = min(cap, initial * (2**attempt))
    return delay / 2 + rng.uniform(0, delay / 2)


class RetryStage:
    def __init__(
        self,
        outbox: Outbox,
        receivers: dict[str, Receiver],
        spec: AlertingSpec,
        clock: Callable[[], float],
        rng: random.Random,
        on_give_up: Callable[[Notification, str], None],
    ):
        self.outbox = outbox
        self.receivers = receivers
        self.spec = spec
        self.clock = clock
        self.rng = rng
        self.on_give_up = on_give_up

    def exec(self, item: OutboxItem) -> Outcome:
        notification = item.notification
        receiver = self.receivers.get(notification.receiver)
        if receiver is None:
            return self._give_up(item, f"receiver {notification.receiver!r} is not configured")
        try:
            receiver.send(notification)
        except DeliveryError as exc:
            error = redact(exc)
            attempts = item.attempts + 1
            if not exc.retryable or attempts >= self.spec.max_attempts:
                why = error if not exc.retryable else f"{error} (gave up after {attempts} attempts)"
                return self._give_up(item, why)
            delay = backoff(item.attempts, float(self.spec.retry_initial),
                            float(self.spec.retry_max), self.rng)  # fmt: skip
            if exc.retry_after is not None:
                delay = max(delay, exc.retry_after)
            log.warning(
                "notification %s to %s failed (attempt %d): %s; retrying in %.1fs",
                notification.id, notification.receiver, attempts, error, delay,
            )  # fmt: skip
            self.outbox.retry(item, self.clock() + delay, error)
            return "retried"
        except Exception as exc:  # a bug in a receiver: keep the item, retry later
            error = redact(f"{type(exc).__name__}: {exc}")
            log.exception("receiver %s crashed on %s", notification.receiver, notification.id)
            self.outbox.retry(item, self.clock() + float(self.spec.retry_max), error)
            return "retried"
        self.outbox.delivered(item, self.clock())
        return "delivered"

    def _give_up(self, item: OutboxItem, error: str) -> Outcome:
        notification = item.notification
        self.outbox.failed(item, error)
        log.error(
            "NOTIFICATION LOST to receiver %s: %s (notification %s: %s)",
            notification.receiver, error, notification.id, notification.title(),
        )  # fmt: skip
        self.on_give_up(notification, error)
        return "failed"
