"""MLflow's model registry as driftd's registry (``registry: {kind: mlflow, ...}``).

What a team that knows MLflow finds there:

- driftd's model ``credit`` is the registered model ``credit`` (``name_prefix`` before
  it, if set); each challenger the worker trains is a new **model version**, whatever
  the gates said, made from an MLflow **run** in the experiment ``driftd/credit``: the
  search's best hyperparameters as the run's params, the holdout metrics as its
  metrics, the artifacts ``model/model.skops`` and ``model/meta.json`` (the version's
  source is ``<run artifacts>/model``), and after the run its report under
  ``report/`` (report.json, report.html).
- The version's tags: ``driftd.sha256`` (what loading checks), ``driftd.gate.<name>``
  (passed/failed), ``driftd.gates`` (passed/failed overall), ``driftd.run_id``.
- Promotion moves the **alias** ``champion`` (the old champion becomes ``previous``),
  a rejected challenger gets the alias ``challenger``, rollback moves ``champion``
  back. MLflow sets one alias per call, so they move in a safe order (``previous``
  first): a crash in between leaves the champion where it was.
- Apps load the champion with ``driftd_sdk.ModelClient(MlflowRegistryReader(uri), ...)``
  and hot-swap on the same ``model_promoted`` event.

The run ledger (runs.jsonl, the ``/metrics`` counts), retraining requests and
announcements stay in the local registry directory (``root``), as with the default.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from driftd_sdk.mlflow_registry import (
    ARTIFACT,
    META,
    SHA256_TAG,
    TRIAL_TAG,
    MlflowRegistryReader,
)

from driftd.retrain.registry import ALIASES, AliasMoves, FencedOut, RunLedger, sha256_file

FENCE_TAG = "driftd.fence"


def _exists(exc: Exception) -> bool:
    return getattr(exc, "error_code", "") == "RESOURCE_ALREADY_EXISTS"


class MlflowRegistry(MlflowRegistryReader, AliasMoves, RunLedger):
    def __init__(
        self,
        tracking_uri: str,
        root: str | Path,
        trusted_types: list[str] | None = None,
        registry_uri: str | None = None,
        name_prefix: str = "",
        experiment_prefix: str = "driftd/",
    ):
        super().__init__(tracking_uri, trusted_types, registry_uri, name_prefix)
        self.root = Path(root)
        self.experiment_prefix = experiment_prefix

    def _experiment(self, model: str) -> str:
        name = f"{self.experiment_prefix}{model}"
        found = self.client.get_experiment_by_name(name)
        return found.experiment_id if found is not None else self.client.create_experiment(name)

    def _registered_model(self, model: str) -> str:
        name = self.registered_name(model)
        try:
            self.client.create_registered_model(
                name, tags={"driftd.model": model},
                description=f"driftd model {model!r}: versions trained and gated by driftd's "
                "retraining worker; the champion alias is what apps serve.",
            )  # fmt: skip
        except Exception as exc:
            if not _exists(exc):
                raise
        return name

    def register(self, model: str, estimator: Any, meta: dict[str, Any]) -> int:
        """A new model version from a new MLflow run; returns its number."""
        import skops.io as sio
        from mlflow.entities import Metric, Param

        name = self._registered_model(model)
        gates: dict[str, bool] = meta.get("gates", {})
        run_tags = {"mlflow.runName": str(meta.get("run_id", "register")), "driftd.model": model}
        run = self.client.create_run(self._experiment(model), tags=run_tags)
        run_id = run.info.run_id
        try:
            with tempfile.TemporaryDirectory(prefix="driftd-mlflow-") as staging:
                artifact = Path(staging) / ARTIFACT
                sio.dump(estimator, artifact)
                record = {**meta, "sha256": sha256_file(artifact),
                          "size_bytes": artifact.stat().st_size, "registered_at": time.time(),
                          "mlflow_run_id": run_id}  # fmt: skip
                (Path(staging) / META).write_text(json.dumps(record, indent=2, default=str))
                self.client.log_artifacts(run_id, staging, artifact_path="model")
            now = int(time.time() * 1000)
            params = [Param(k, str(v)[:6000]) for k, v in (meta.get("params") or {}).items()]
            metrics = [Metric(k, v, now, 0) for k, v in _run_metrics(meta)]
            self.client.log_batch(run_id, metrics=metrics, params=params)
            self.client.set_terminated(run_id)
        except BaseException:
            self.client.set_terminated(run_id, status="FAILED")
            raise
        tags = {SHA256_TAG: record["sha256"], "driftd.run_id": str(meta.get("run_id", "")),
                "driftd.gates": _word(bool(gates) and all(gates.values())),
                **{f"driftd.gate.{gate}": _word(ok) for gate, ok in gates.items()}}  # fmt: skip
        version = self.client.create_model_version(
            name, source=f"{run.info.artifact_uri}/model", run_id=run_id, tags=tags,
            description=f"driftd retraining run {meta.get('run_id', '')}",
        )  # fmt: skip
        return int(version.version)

    def set_aliases(self, model: str, **changes: int | None) -> dict[str, int]:
        """Move aliases one call each, in the order given (see ``AliasMoves``), after
        checking them all: a refused change moves none."""
        name = self.registered_name(model)
        for alias in changes:
            if alias not in ALIASES:
                raise ValueError(f"unknown alias {alias!r}")
        wanted = {v for v in changes.values() if v is not None}
        if wanted:
            missing = sorted(wanted - set(self.versions(model)))
            if missing:
                raise ValueError(f"{model} has no version {missing[0]}")
        current = self.aliases(model)
        for alias, version in changes.items():
            if version is not None:
                self.client.set_registered_model_alias(name, alias, str(version))
            elif alias in current:
                self.client.delete_registered_model_alias(name, alias)
        return self.aliases(model)

    # -- fencing: the token as a tag of the registered model. MLflow has no
    # compare-and-set, so between the read and the write of the tag there is a window
    # the directory registry (an flock) does not have: docs/retraining.md says so.

    def _seen(self, model: str) -> int:
        try:
            tags = self.client.get_registered_model(self.registered_name(model)).tags
        except Exception as exc:
            if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                return 0
            raise
        return int(tags.get(FENCE_TAG, 0))

    def claim(self, model: str, token: int) -> None:
        seen = self._seen(model)
        if token < seen:
            raise FencedOut(f"{model}: lease token {token} is older than {seen}")
        self.client.set_registered_model_tag(self._registered_model(model), FENCE_TAG,
                                             str(token))  # fmt: skip

    @contextlib.contextmanager
    def fenced(self, model: str, token: int | None) -> Iterator[None]:
        if token is not None and token < self._seen(model):
            raise FencedOut(f"{model}: lease token {token} is older than {self._seen(model)}: "
                            "another worker took the model over")  # fmt: skip
        yield

    def set_trial(self, model: str, record: dict[str, Any]) -> None:
        self.client.set_registered_model_tag(self._registered_model(model), TRIAL_TAG,
                                             json.dumps(record, sort_keys=True))  # fmt: skip

    def attach_report(self, model: str, version: int, directory: Path) -> None:
        """Log the run's report (report.json, report.html) to the version's MLflow run."""
        run_id = self._version(model, version).run_id
        self.client.log_artifacts(run_id, str(directory), artifact_path="report")


def _word(passed: bool) -> str:
    return "passed" if passed else "failed"


def _run_metrics(meta: dict[str, Any]) -> list[tuple[str, float]]:
    """The version's metrics under MLflow names: the holdout score as holdout.<metric>
    (holdout.accuracy), anything else flattened."""
    named = meta.get("holdout_metric")
    return [(f"holdout.{named}" if named and name == "holdout" else name, value)
            for name, value in _numbers(meta.get("metrics"))]  # fmt: skip


def _numbers(metrics: Any, prefix: str = "") -> list[tuple[str, float]]:
    """Flatten nested metrics ({"holdout": {"accuracy": 0.8}}) to MLflow's flat names
    (holdout.accuracy), numbers only."""
    if not isinstance(metrics, dict):
        return []
    out: list[tuple[str, float]] = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            out += _numbers(value, f"{prefix}{key}.")
        elif isinstance(value, int | float) and not isinstance(value, bool) and value == value:
            out.append((f"{prefix}{key}", float(value)))
    return out
