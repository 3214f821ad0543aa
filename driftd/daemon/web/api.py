"""What the authorised POSTs of the HTTP API do: the same operations as the CLI.

A silence goes into the outbox's records like `driftd silence add`; a promotion or
rollback goes through :func:`driftd.retrain.announce.switch_champion`, so it is
announced exactly like `driftd models promote|rollback`: an audit line in the
registry and, in the service, a "model_promoted" event on the models topic that
``ModelClient.listen_kafka`` apps hot-swap on.
"""

from __future__ import annotations

from typing import Any

from driftd.alerts.matchers import parse_matchers
from driftd.alerts.silences import new_silence, put_silence
from driftd.daemon.web.state_view import StateView
from driftd.durations import parse_duration
from driftd.retrain.announce import Announce, Announcer, switch_champion
from driftd.retrain.request_queue import RequestQueue


class Actions:
    """What the authorised POSTs do: the same operations as the CLI."""

    def __init__(self, view: StateView, announce: Announce | None = None,
                 requests: Any = None):  # fmt: skip
        """``announce``: default, the registry's audit log only (no Kafka to tell);
        ``requests``: the retraining request queue (default: the registry directory's)."""
        self.view = view
        self.announce = announce or Announcer(view.registry.root)
        self.requests = requests  # None: the registry directory's, made when first needed

    def silence(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.view.outbox is None:
            raise ValueError("no outbox: alerting is not configured")
        matchers = parse_matchers([f"{k}={v}" for k, v in dict(body["matchers"]).items()])
        duration = parse_duration(body.get("duration", "2h"), "duration")
        author, comment = str(body.get("created_by", "api")), str(body.get("comment", ""))
        silence = new_silence(matchers, duration, author, comment)
        put_silence(self.view.outbox, silence)
        return {"id": silence.id, "ends_at": silence.ends_at}

    def promote(self, model: str, body: dict[str, Any]) -> dict[str, Any]:
        version = body["version"]
        if isinstance(version, float) and version.is_integer():
            version = int(version)  # 2.0 is the integer JSON Schema (and the OpenAPI) allow
        # Strictly an integer: int(True) is 1 and int(1e400) raises OverflowError (a 500).
        if type(version) is not int or version < 1:
            raise ValueError(f"version must be a positive integer, got {version!r}")
        before, champion = switch_champion(self.view.registry, model, "promote", self.announce,
                                           version)  # fmt: skip
        return {"model": model, "champion": champion, "previous": before}

    def rollback(self, model: str, body: dict[str, Any]) -> dict[str, Any]:
        before, champion = switch_champion(self.view.registry, model, "rollback", self.announce)
        return {"model": model, "champion": champion, "previous": before}

    def retrain(self, model: str, body: dict[str, Any]) -> dict[str, Any]:
        if self.view.config.models[model].retrain is None:
            raise ValueError(f"{model} has no retrain section")
        queue = self.requests or RequestQueue(self.view.registry.root)
        queue.put(model, f"API: {body.get('reason', '')}")
        return {"model": model, "requested": True}
