"""Slack through slack-sdk: an incoming webhook, or a bot token with chat.postMessage.

With a bot token the firing message's ``ts`` is remembered per group, and the
resolved notice updates that message (chat.update) and replies in its thread;
incoming webhooks cannot edit, so there the resolved notice is a new message.
slack-sdk's own retry handlers are off: retries, backoff and Retry-After belong
to the delivery worker and its outbox.
"""

from __future__ import annotations

import urllib.error

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from driftd.alerts.model import Notification
from driftd.alerts.outbox import Outbox
from driftd.alerts.receivers import (
    DeliveryError,
    ReceiverContext,
    http_outcome,
    retry_after_seconds,
)
from driftd.alerts.render import mrkdwn, slack_blocks, text_body
from driftd.config.alerting import SlackReceiver
from driftd.credentials import resolve_secret

PERMANENT_ERRORS = {
    "invalid_auth", "not_authed", "account_inactive", "token_revoked", "channel_not_found",
    "not_in_channel", "is_archived", "msg_too_long", "no_text", "invalid_blocks",
    "missing_scope", "restricted_action",
}  # fmt: skip
NETWORK_ERRORS = (urllib.error.URLError, TimeoutError, ConnectionError, OSError)


class SlackWebhook:
    def __init__(self, name: str, url: str, timeout: float):
        self.name = name
        self._client = WebhookClient(url, timeout=int(max(timeout, 1)))

    def send(self, notification: Notification) -> None:
        try:
            response = self._client.send(
                text=mrkdwn(text_body(notification))[:3000], blocks=slack_blocks(notification)
            )
        except NETWORK_ERRORS as exc:
            raise DeliveryError(f"slack {self.name}: {exc}", True) from None
        http_outcome(response.status_code, response.headers, f"slack {self.name}")


class SlackBot:
    def __init__(
        self, name: str, token: str, channel: str, api_url: str, timeout: float, outbox: Outbox
    ):
        self.name = name
        self._channel = channel
        self._outbox = outbox
        self._client = WebClient(
            token=token, base_url=api_url, timeout=int(max(timeout, 1)), retry_handlers=[]
        )

    def _call(self, method: str, **kwargs) -> dict:
        try:
            return getattr(self._client, method)(**kwargs).data  # type: ignore[return-value]
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error", "") if exc.response is not None else ""
            if status == 429 or error == "ratelimited":
                raise DeliveryError(
                    f"slack {self.name}: rate limited",
                    True,
                    retry_after_seconds(exc.response.headers),
                ) from None
            if error in PERMANENT_ERRORS or 400 <= status < 500:
                raise DeliveryError(f"slack {self.name}: {error or status}", False) from None
            raise DeliveryError(f"slack {self.name}: {error or status}", True) from None
        except NETWORK_ERRORS as exc:
            raise DeliveryError(f"slack {self.name}: {exc}", True) from None

    def send(self, notification: Notification) -> None:
        thread_key = f"{self.name}|{notification.group_key}"
        text = mrkdwn(text_body(notification))[:3000]
        blocks = slack_blocks(notification)
        thread = self._outbox.record_get("slack_threads", thread_key)
        if notification.status == "resolved" and thread:
            # The original firing message now says resolved, and the thread says so too.
            self._call("chat_update", channel=thread["channel"], ts=thread["ts"],
                       text=text, blocks=blocks)  # fmt: skip
            self._call("chat_postMessage", channel=thread["channel"], thread_ts=thread["ts"],
                       text=text, blocks=blocks)  # fmt: skip
            self._outbox.record_delete("slack_threads", thread_key)
            return
        answer = self._call("chat_postMessage", channel=self._channel, text=text, blocks=blocks)
        if notification.status == "firing" and not thread:
            self._outbox.record_put(
                "slack_threads", thread_key, {"channel": answer["channel"], "ts": answer["ts"]}
            )


def build(name: str, spec: SlackReceiver, context: ReceiverContext) -> SlackWebhook | SlackBot:
    at = f"alerting.receivers.{name}"
    if spec.webhook_url_env:
        url = resolve_secret(spec.webhook_url_env, f"{at}.webhook_url_env")
        return SlackWebhook(name, url or "", spec.timeout)
    if context.outbox is None:
        raise ValueError("a Slack bot receiver keeps thread references in the outbox")
    token = resolve_secret(spec.token_env, f"{at}.token_env")
    return SlackBot(name, token or "", spec.channel or "", spec.api_url, spec.timeout,
                    context.outbox)  # fmt: skip
