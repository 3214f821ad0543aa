"""Build the alerting stack from the config: channels (secrets resolved), manager, worker."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from driftd.alerts.channels import Channel
from driftd.alerts.delivery import DeliveryWorker
from driftd.alerts.manager import AlertManager, History
from driftd.alerts.notify import ConsoleNotifier, JsonlNotifier
from driftd.alerts.outbox import Outbox
from driftd.config.alerting import (
    AlertingSpec,
    ConsoleReceiver,
    EmailReceiver,
    JsonlReceiver,
    SlackReceiver,
    WebhookReceiver,
)
from driftd.credentials import resolve_secret


def build_channels(spec: AlertingSpec, outbox: Outbox, state_dir: Path) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    for name, receiver in spec.receivers.items():
        at = f"alerting.receivers.{name}"
        if isinstance(receiver, SlackReceiver):
            from driftd.alerts.channels.slack import SlackBotChannel, SlackWebhookChannel

            if receiver.webhook_url_env:
                url = resolve_secret(receiver.webhook_url_env, f"{at}.webhook_url_env")
                channels[name] = SlackWebhookChannel(name, url or "", receiver.timeout)
            else:
                token = resolve_secret(receiver.token_env, f"{at}.token_env")
                channels[name] = SlackBotChannel(
                    name, token or "", receiver.channel or "", receiver.api_url,
                    receiver.timeout, outbox,
                )  # fmt: skip
        elif isinstance(receiver, EmailReceiver):
            from driftd.alerts.channels.email import EmailChannel

            channels[name] = EmailChannel(
                name,
                receiver,
                resolve_secret(receiver.username_env, f"{at}.username_env", secret=False),
                resolve_secret(receiver.password_env, f"{at}.password_env"),
            )
        elif isinstance(receiver, WebhookReceiver):
            from driftd.alerts.channels.webhook import WebhookChannel

            channels[name] = WebhookChannel(
                name,
                resolve_secret(receiver.url_env, f"{at}.url_env") or "",
                resolve_secret(receiver.secret_env, f"{at}.secret_env"),
                receiver.timeout,
            )
        else:
            from driftd.alerts.channels.log import LogChannel

            if isinstance(receiver, ConsoleReceiver):
                channels[name] = LogChannel(name, ConsoleNotifier(sys.stderr))
            elif isinstance(receiver, JsonlReceiver):
                path = receiver.path or state_dir / f"alerts-{name}.jsonl"
                channels[name] = LogChannel(name, JsonlNotifier(path))
    return channels


class Alerting:
    """The manager (grouping, pacing) and the worker (delivery) over one outbox."""

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
        self.worker = DeliveryWorker(outbox, build_channels(spec, outbox, state_dir), spec, clock)

    def start(self) -> None:
        self.worker.start()

    def tick(self, flush_all: bool = False) -> None:
        if self.manager.tick(flush_all):
            self.worker.wake()

    def stop(self, drain_seconds: float = 10.0) -> None:
        self.worker.drain(drain_seconds)
        self.worker.stop()
