"""Webhook: a signed JSON POST.

Headers: ``Idempotency-Key`` (the notification id, the same on every retry),
``X-Driftd-Timestamp`` and ``X-Driftd-Signature: sha256=<hex>``, the HMAC-SHA256
of ``"<timestamp>.<body>"`` with the shared secret. A receiver verifies it by
recomputing the HMAC and rejecting old timestamps (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import time

import msgspec

from driftd.alerts.model import Notification
from driftd.alerts.receivers import ReceiverContext, post_json
from driftd.config.alerting import WebhookReceiver
from driftd.credentials import resolve_secret


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def payload(notification: Notification) -> bytes:
    return msgspec.json.encode(
        {
            "version": "1",
            "id": notification.id,
            "status": notification.status,
            "title": notification.title(),
            "receiver": notification.receiver,
            "route": notification.route,
            "group": notification.group_labels,
            "alerts": notification.alerts,
            # Per firing alert, the current value first: the value at firing goes stale.
            "standing": {
                key: {"current": now.current, "at_firing": now.at_firing, "worst": now.worst}
                for key, now in notification.standing.items()
            },
            "top_drift": notification.top_drift,
            "dashboard_url": notification.dashboard_url,
            "created_at": notification.created_at,
        }
    )


class Webhook:
    def __init__(self, name: str, url: str, secret: str | None, timeout: float):
        self.name = name
        self._url = url
        self._secret = secret
        self._timeout = timeout

    def send(self, notification: Notification) -> None:
        body = payload(notification)
        timestamp = str(int(time.time()))
        headers = {"Idempotency-Key": notification.id, "X-Driftd-Timestamp": timestamp}
        if self._secret:
            headers["X-Driftd-Signature"] = signature(self._secret, timestamp, body)
        post_json(self._url, body, headers, self._timeout, f"webhook {self.name}")


def build(name: str, spec: WebhookReceiver, context: ReceiverContext) -> Webhook:
    at = f"alerting.receivers.{name}"
    return Webhook(name, resolve_secret(spec.url_env, f"{at}.url_env") or "",
                   resolve_secret(spec.secret_env, f"{at}.secret_env"), spec.timeout)  # fmt: skip
