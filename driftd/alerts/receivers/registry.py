"""Receivers built from the config: one module per receiver type, found by its spec.

Each module named here has ``build(name, spec, context) -> Receiver``. It is imported
only when a receiver of its type is configured, so an unused receiver's library
(slack-sdk, smtplib's TLS, matplotlib for email charts) is never loaded. Adding a
receiver type: a spec in driftd/config/alerting.py (and in its ``Receiver`` union),
a module with ``build``, and one line here (docs/extending.md).
"""

from __future__ import annotations

import importlib

from driftd.alerts.receivers import Receiver, ReceiverContext
from driftd.config.alerting import (
    AlertingSpec,
    AlertmanagerReceiver,
    ConsoleReceiver,
    EmailReceiver,
    JsonlReceiver,
    ReceiverSpec,
    SlackReceiver,
    WebhookReceiver,
)

MODULES: dict[type, str] = {
    SlackReceiver: "driftd.alerts.receivers.slack",
    EmailReceiver: "driftd.alerts.receivers.mail",
    WebhookReceiver: "driftd.alerts.receivers.webhook",
    AlertmanagerReceiver: "driftd.alerts.receivers.alertmanager",
    ConsoleReceiver: "driftd.alerts.receivers.console",
    JsonlReceiver: "driftd.alerts.receivers.jsonl",
}


def build_receiver(name: str, spec: ReceiverSpec, context: ReceiverContext) -> Receiver:
    """One receiver; its secrets are read (and registered for redaction) now."""
    module = importlib.import_module(MODULES[type(spec)])
    return module.build(name, spec, context)


def build_receivers(spec: AlertingSpec, context: ReceiverContext) -> dict[str, Receiver]:
    return {name: build_receiver(name, receiver, context) for name, receiver in
            spec.receivers.items()}  # fmt: skip
