"""The model registry: versions, aliases, and artifacts that are never unpickled.

Layout under ``runtime.registry_dir``::

    <model>/versions/<n>/model.skops     the artifact (skops: no pickle)
    <model>/versions/<n>/meta.json       params, metrics, gate verdicts, data window,
                                         sha256 of the artifact, time, versions of things
    <model>/aliases.json                 {"champion": n, "challenger": m, "previous": k}
    <model>/runs/<run id>/report.{json,html}

Atomicity comes from ``os.replace``: a version is written into a temporary
directory and renamed into place whole, and aliases.json is replaced whole, so a
process that dies midway leaves either the old state or the new one; the
champion alias always names one complete, valid version.

Loading (driftd_sdk.registry, shared with apps) checks the artifact's sha256 against
the one recorded at registration, then asks skops which types the file would create
and refuses any that are not trusted (skops' defaults plus ``retrain.trusted_types``).
A pickle, or a skops file naming an unknown callable, is refused before anything is
constructed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from driftd_sdk.registry import (
    TRIAL_FILE,
    ArtifactRefused,
    FileRegistryReader,
    ModelSource,
    sha256_file,
)

__all__ = ["ALIASES", "AliasMoves", "ArtifactRefused", "FencedOut", "ModelRegistry", "Registry",
           "RunLedger", "UnknownVersion", "sha256_file"]

ALIASES = ("champion", "challenger", "previous")


class UnknownVersion(LookupError):
    """The model has no such version (the API answers 404)."""


class FencedOut(RuntimeError):
    """A worker's lease token is older than one the registry has seen: another worker
    took the model over (this one was paused or cut off past its lease)."""


def _write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True, default=str)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class ModelRegistry(ModelSource, Protocol):
    """What the worker, the CLI and the API need of a registry; two backends: the
    directory below (:class:`Registry`, the default) and MLflow's model registry
    (:class:`~driftd.retrain.mlflow_registry.MlflowRegistry`)."""

    root: Path  # local: the run ledger, reports, requests and announcements

    def versions(self, model: str) -> list[int]: ...

    def meta(self, model: str, version: int) -> dict[str, Any]: ...

    def register(self, model: str, estimator: Any, meta: dict[str, Any]) -> int: ...

    def aliases(self, model: str) -> dict[str, int]: ...

    def set_aliases(self, model: str, **changes: int | None) -> dict[str, int]: ...

    def promote(self, model: str, version: int) -> dict[str, int]: ...

    def rollback(self, model: str) -> dict[str, int]: ...

    def record_run(self, model: str, summary: dict[str, Any]) -> None: ...

    def runs(self, model: str) -> list[dict[str, Any]]: ...

    def run_dir(self, model: str, run_id: str) -> Path: ...

    def attach_report(self, model: str, version: int, directory: Path) -> None: ...

    def claim(self, model: str, token: int) -> None: ...

    def fenced(self, model: str, token: int | None) -> contextlib.AbstractContextManager: ...

    def trial(self, model: str) -> dict[str, Any] | None: ...

    def set_trial(self, model: str, record: dict[str, Any]) -> None:
        """Open, update or close (``status`` other than running) the live trial."""


class AliasMoves:
    """Promotion and rollback as alias changes, the same on every backend. The aliases
    are handed to ``set_aliases`` in a safe order for backends that apply them one by
    one (MLflow): ``previous`` before ``champion``, so a crash in between leaves the
    champion where it was. Mixed into a class that reads and writes aliases
    (``aliases``, ``champion``, ``set_aliases``)."""

    aliases: Callable[[str], dict[str, int]]
    champion: Callable[[str], int | None]
    set_aliases: Callable[..., dict[str, int]]

    def promote(self, model: str, version: int) -> dict[str, int]:
        """Make ``version`` the champion (one atomic write in the directory backend); the
        old one becomes previous."""
        current = self.champion(model)
        changes: dict[str, int | None] = {}
        if current is not None and current != version:
            changes["previous"] = current
        changes["champion"] = version
        if self.aliases(model).get("challenger") == version:
            changes["challenger"] = None
        return self.set_aliases(model, **changes)

    def rollback(self, model: str) -> dict[str, int]:
        previous = self.aliases(model).get("previous")
        if previous is None:
            raise ValueError(f"{model} has no previous champion to roll back to")
        return self.set_aliases(model, champion=previous, previous=self.champion(model))


class RunLedger:
    """The worker's run ledger and reports, in a local directory (``root``)."""

    root: Path

    def record_run(self, model: str, summary: dict[str, Any]) -> None:
        """Append one run's outcome to the model's ledger (what /metrics counts).

        One short line per run, appended with O_APPEND: concurrent workers on the same
        directory cannot interleave within a line, and a crash loses at most that line.
        """
        path = self.root / model / "runs.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(summary, sort_keys=True, default=str) + "\n").encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def runs(self, model: str) -> list[dict[str, Any]]:
        """Every recorded run, oldest first (a torn last line is skipped)."""
        path = self.root / model / "runs.jsonl"
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def run_dir(self, model: str, run_id: str) -> Path:
        path = self.root / model / "runs" / run_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def attach_report(self, model: str, version: int, directory: Path) -> None:
        """Keep a run's report with the version it made (here: it stays in ``runs/``)."""


class Registry(FileRegistryReader, AliasMoves, RunLedger):
    """The registry directory, read (the SDK's reader, shared with apps) and written."""

    # -- fencing (workers on many hosts, redis_queue.py) ------------------------------

    @contextlib.contextmanager
    def _fence_file(self, model: str) -> Iterator[Path]:
        path = self._model_dir(model) / "fence.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        with (path.parent / ".fence.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield path
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @staticmethod
    def _check(path: Path, model: str, token: int) -> int:
        seen = json.loads(path.read_text())["token"] if path.exists() else 0
        if token < seen:
            raise FencedOut(f"{model}: lease token {token} is older than {seen}: another "
                            "worker took the model over; this one may not change it")  # fmt: skip
        return seen

    def claim(self, model: str, token: int) -> None:
        """Record a new lease's token; refuse one older than the newest seen."""
        with self._fence_file(model) as path:
            if self._check(path, model, token) < token:
                _write_json_atomic(path, {"token": token, "at": time.time()})

    @contextlib.contextmanager
    def fenced(self, model: str, token: int | None) -> Iterator[None]:
        """Alias changes inside happen only if ``token`` is still the newest (held
        throughout: a newer claim waits until they are written). None: no lease to check."""
        if token is None:
            yield
            return
        with self._fence_file(model) as path:
            self._check(path, model, token)
            yield

    def register(self, model: str, estimator: Any, meta: dict[str, Any]) -> int:
        """Store a new version (complete or not at all); returns its number."""
        import skops.io as sio

        versions_dir = self._model_dir(model) / "versions"
        versions_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=versions_dir, prefix=".new-"))
        artifact = staging / "model.skops"
        sio.dump(estimator, artifact)
        record = {
            **meta,
            "sha256": sha256_file(artifact),
            "size_bytes": artifact.stat().st_size,
            "registered_at": time.time(),
        }
        while True:
            version = (self.versions(model) or [0])[-1] + 1
            record["version"] = version
            (staging / "meta.json").write_text(json.dumps(record, indent=2, default=str))
            try:
                os.rename(staging, versions_dir / str(version))  # fails if taken: retry
                return version
            except OSError:
                if (versions_dir / str(version)).exists():
                    continue
                shutil.rmtree(staging, ignore_errors=True)
                raise

    def set_trial(self, model: str, record: dict[str, Any]) -> None:
        _write_json_atomic(self._model_dir(model) / TRIAL_FILE, record)

    def set_aliases(self, model: str, **changes: int | None) -> dict[str, int]:
        aliases: dict[str, int | None] = dict(self.aliases(model))
        for name, version in changes.items():
            if name not in ALIASES:
                raise ValueError(f"unknown alias {name!r}")
            if version is not None and version not in self.versions(model):
                raise ValueError(f"{model} has no version {version}")
            aliases[name] = version
        clean = {k: v for k, v in aliases.items() if v is not None}
        _write_json_atomic(self._model_dir(model) / "aliases.json", clean)
        return clean
