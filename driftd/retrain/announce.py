"""Telling apps the champion changed: the "model promoted" event.

Every change of a model's champion (a retraining run's promotion, a promotion or
rollback by hand from the CLI or the HTTP API, an automatic rollback) goes through
:func:`switch_champion` or the worker and is announced the same way: one line in the
registry's audit log (``<registry>/<model>/events.jsonl``) and, when driftd runs as
a service, one message on the Kafka models topic, which
``driftd_sdk.ModelClient.listen_kafka`` follows to hot-swap.

The Kafka side comes in as ``publish(key, value)`` from the composition root, so
retraining never imports the consumers layer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from driftd.retrain.registry import ModelRegistry, UnknownVersion

Publish = Callable[[bytes, bytes], None]  # key, value (onto the models topic)
Announce = Callable[[dict[str, Any]], None]


class Announcer:
    def __init__(self, registry_root: str | Path, publish: Publish | None = None):
        self.root = Path(registry_root)
        self.publish = publish

    def __call__(self, event: dict[str, Any]) -> None:
        path = self.root / event["model_id"] / "events.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(event)
        with path.open("a") as handle:
            handle.write(line + "\n")
        if self.publish is not None:
            self.publish(event["model_id"].encode(), line.encode())


def promotion_event(
    registry: ModelRegistry, model: str, version: int, previous: int | None, reason: str,
    **extra: Any,
) -> dict[str, Any]:  # fmt: skip
    return {
        "type": "model_promoted", "model_id": model, "version": version, "previous": previous,
        "sha256": registry.meta(model, version)["sha256"], "reason": reason,
        "timestamp": time.time(), **extra,
    }  # fmt: skip


def trial_event(kind: str, model: str, record: dict[str, Any]) -> dict[str, Any]:
    """The trial's events for apps: ``challenger_started`` (load the challenger: shadow
    or A/B) and ``challenger_ended`` (drop it; a win is announced as "model_promoted")."""
    return {
        "type": kind, "model_id": model, "version": record["version"],
        "mode": record["mode"], "share": record["share"], "sha256": record["sha256"],
        "status": record["status"], "timestamp": time.time(),
    }  # fmt: skip


def switch_champion(
    registry: ModelRegistry,
    model: str,
    action: Literal["promote", "rollback"],
    announce: Announce,
    version: int | None = None,
) -> tuple[int | None, int]:
    """Promote ``version`` (refused unless it loads: hash and types) or roll back to
    the previous champion, then announce; returns (champion before, champion now)."""
    before = registry.champion(model)
    if action == "promote":
        if version is None:
            raise ValueError("promote needs a version")
        versions = registry.versions(model)
        if version not in versions:
            have = ", ".join(map(str, versions)) or "none yet"
            raise UnknownVersion(f"{model} has no version {version} (versions: {have})")
        registry.load(model, version)  # refuse a version that would not load
        champion = registry.promote(model, version)["champion"]
    else:
        champion = registry.rollback(model)["champion"]
    announce(promotion_event(registry, model, champion, before, action))
    return before, champion
