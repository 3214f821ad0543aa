"""Receivers: how one notification reaches one destination (Slack, email, a webhook,
an Alertmanager, the console, a JSONL file).

One interface for every destination: ``send(notification)`` returns when the
receiver has accepted the notification and raises :class:`DeliveryError` otherwise,
saying whether a retry can help and how long the receiver asked to wait (the shape
of Alertmanager's notifiers, which return (retryable, error)). Retrying, backoff and
the outbox are the delivery stages' job (alerts/stages.py, alerts/delivery.py), not
the receiver's. Receivers are built from the config by :mod:`.registry`.
"""

from __future__ import annotations

import email.utils
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from driftd.alerts.model import Notification
from driftd.alerts.outbox import Outbox


class DeliveryError(Exception):
    def __init__(self, message: str, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class Receiver(Protocol):
    name: str

    def send(self, notification: Notification) -> None: ...


@dataclass(frozen=True)
class ReceiverContext:
    """What a receiver may need besides its own config section."""

    state_dir: Path  # default homes of files (a JSONL receiver without a path)
    outbox: Outbox | None = None  # small durable records (Slack thread references)
    stream: TextIO | None = None  # the console's stream (default: stderr at send time)


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Retry-After as seconds (it may be a number of seconds or an HTTP date)."""
    if not headers:
        return None
    value = None
    for key, item in headers.items():
        if key.lower() == "retry-after":
            value = item[0] if isinstance(item, list) else item
    if value is None:
        return None
    value = str(value).strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(parsed.timestamp() - time.time(), 0.0) if parsed else None


def http_outcome(status: int, headers: Mapping[str, str] | None, what: str) -> None:
    """Map an HTTP answer to success or a DeliveryError (429/5xx retry, other 4xx do not)."""
    if 200 <= status < 300:
        return
    if status == 429:
        raise DeliveryError(f"{what}: 429 rate limited", True, retry_after_seconds(headers))
    if status >= 500 or status == 408:
        raise DeliveryError(f"{what}: HTTP {status}", True, retry_after_seconds(headers))
    raise DeliveryError(f"{what}: HTTP {status} (not retried)", False)


def post_json(url: str, body: bytes, headers: Mapping[str, str], timeout: float,
              what: str) -> None:  # fmt: skip
    """POST a JSON body; an HTTP answer maps as :func:`http_outcome`, a network error is
    a retryable DeliveryError naming ``what``."""
    headers = {"Content-Type": "application/json", "User-Agent": "driftd", **headers}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            http_outcome(response.status, dict(response.headers), what)
    except urllib.error.HTTPError as exc:
        http_outcome(exc.code, dict(exc.headers or {}), what)
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"{what}: {reason}", True) from None
