"""Retraining requests and the per-model lock, as files in the registry directory.

A request is ``requests/<model>.json``: one file per model, so requests arriving
while a run is going are coalesced into one (their reasons kept). The lock is an
``flock`` on ``locks/<model>.lock``: the kernel drops it when the holder dies, so a
killed worker never leaves a model locked. Both work for every process that sees
the registry directory (the daemon files requests when a trigger alert fires,
``driftd retrain`` files one by hand, the worker takes them).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from driftd.alerts.model import Alert
    from driftd.config import Config


@dataclass(frozen=True)
class Lease:
    """A held model lock. ``token``: its fencing token (Redis leases; None for an flock,
    which cannot lapse while its process lives)."""

    token: int | None = None


class RequestQueue:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, model: str) -> Path:
        return self.root / "requests" / f"{model}.json"

    def put(self, model: str, reason: str) -> None:
        path = self._path(model)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.lock(model, wait=True, name="requests"):
            reasons = json.loads(path.read_text())["reasons"] if path.exists() else []
            reasons = [*reasons, {"reason": reason, "at": time.time()}][-20:]
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"model": model, "reasons": reasons}))
            os.replace(tmp, path)

    def pending(self) -> list[str]:
        directory = self.root / "requests"
        return sorted(p.stem for p in directory.glob("*.json")) if directory.exists() else []

    def ack(self, model: str) -> None:
        """The run is over (the file was removed by :meth:`take`)."""

    def take(self, model: str) -> list[dict]:
        """Remove and return the model's coalesced request (empty if none)."""
        path = self._path(model)
        with self.lock(model, wait=True, name="requests"):
            if not path.exists():
                return []
            reasons = json.loads(path.read_text())["reasons"]
            path.unlink()
        return reasons

    @contextlib.contextmanager
    def lock(self, model: str, wait: bool = False, name: str = "run") -> Iterator[Lease | None]:
        """Yields a Lease while this process holds the model's lock, None if another does."""
        path = self.root / "locks" / f"{model}.{name}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            flags = fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)
            try:
                fcntl.flock(handle, flags)
            except BlockingIOError:
                yield None
                return
            try:
                yield Lease()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def alert_triggers(config: Config, queue: RequestQueue) -> Callable[[list[Alert]], None]:
    """For the daemon: file a request when an alert named in a model's triggers fires
    (here, not in the worker: the daemon files requests without importing the worker's
    training stack, scikit-learn and pandas, ~0.5 s of every start)."""

    def check(alerts: list[Alert]) -> None:
        for alert in alerts:
            spec = config.models.get(alert.model)
            if alert.state != "firing" or spec is None or spec.retrain is None:
                continue
            if any(fnmatchcase(alert.rule, t) or fnmatchcase(alert.metric, t)
                   for t in spec.retrain.triggers):  # fmt: skip
                queue.put(alert.model, f"alert {alert.rule} on {alert.metric}")

    return check
