"""MLflow's model registry, read the way driftd reads its own: the ``champion`` alias,
and artifacts checked and never unpickled.

driftd registers each model version with its skops artifact and ``meta.json`` under the
version's source (``<run artifacts>/model/``) and the artifact's digest as the version
tag ``driftd.sha256``; loading downloads ``model.skops`` through MLflow's artifact
store (proxied by the tracking server, or S3/GCS/... as MLflow is configured), checks
the digest, and loads with skops' allowlist (see :mod:`driftd_sdk.registry`). A
version registered by something else than driftd has no digest tag and is refused.

Needs ``pip install driftd-sdk[mlflow]`` (mlflow-skinny, skops).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from driftd_sdk.registry import DEFAULT_TRUSTED, ArtifactRefused, load_checked

SHA256_TAG = "driftd.sha256"
TRIAL_TAG = "driftd.trial"  # the registered model's live trial, as JSON
ARTIFACT = "model.skops"
META = "meta.json"


def _missing(exc: Exception) -> bool:
    return getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST"


class MlflowRegistryReader:
    """A :class:`~driftd_sdk.registry.ModelSource` over MLflow's model registry: driftd's
    model ``credit`` is the registered model ``<name_prefix>credit``."""

    def __init__(
        self,
        tracking_uri: str,
        trusted_types: list[str] | None = None,
        registry_uri: str | None = None,
        name_prefix: str = "",
    ):
        from mlflow import MlflowClient

        self.tracking_uri = tracking_uri
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)
        self.trusted_types = [*DEFAULT_TRUSTED, *(trusted_types or [])]
        self.name_prefix = name_prefix
        self._metas: dict[tuple[str, int], dict[str, Any]] = {}  # versions are immutable

    def __repr__(self) -> str:
        return f"MLflow registry at {self.tracking_uri}"

    def registered_name(self, model: str) -> str:
        return f"{self.name_prefix}{model}"

    def aliases(self, model: str) -> dict[str, int]:
        try:
            registered = self.client.get_registered_model(self.registered_name(model))
        except Exception as exc:
            if _missing(exc):
                return {}
            raise
        return {alias: int(version) for alias, version in registered.aliases.items()}

    def champion(self, model: str) -> int | None:
        return self.aliases(model).get("champion")

    def trial(self, model: str) -> dict[str, Any] | None:
        """The live trial, kept as the registered model's ``driftd.trial`` tag."""
        try:
            tags = self.client.get_registered_model(self.registered_name(model)).tags
        except Exception as exc:
            if _missing(exc):
                return None
            raise
        record = json.loads(tags.get(TRIAL_TAG) or "null")
        return record if record and record.get("status") == "running" else None

    def versions(self, model: str) -> list[int]:
        name = self.registered_name(model).replace("'", "\\'")
        found = self.client.search_model_versions(f"name='{name}'")
        return sorted(int(v.version) for v in found)

    def _version(self, model: str, version: int) -> Any:
        return self.client.get_model_version(self.registered_name(model), str(version))

    def sha256(self, model: str, version: int) -> str:
        digest = self._version(model, version).tags.get(SHA256_TAG)
        if not digest:
            raise ArtifactRefused(
                f"{model} v{version}: MLflow's version has no {SHA256_TAG} tag (not "
                "registered by driftd): refusing to load an artifact that cannot be checked"
            )
        return str(digest)

    def _download(self, model: str, version: int, name: str, into: str) -> Path:
        from mlflow.artifacts import download_artifacts

        source = self._version(model, version).source
        return Path(download_artifacts(artifact_uri=f"{source}/{name}", dst_path=into,
                                       tracking_uri=self.tracking_uri))  # fmt: skip

    def meta(self, model: str, version: int) -> dict[str, Any]:
        """What driftd recorded at registration (params, metrics, gates, sha256, ...)."""
        key = (model, version)
        if key not in self._metas:
            with tempfile.TemporaryDirectory(prefix="driftd-mlflow-") as into:
                meta = json.loads(self._download(model, version, META, into).read_text())
            self._metas[key] = {**meta, "version": version}
        return dict(self._metas[key])

    def load(self, model: str, version: int) -> Any:
        """The estimator of a version, after its hash and type checks."""
        expected = self.sha256(model, version)
        with tempfile.TemporaryDirectory(prefix="driftd-mlflow-") as into:
            artifact = self._download(model, version, ARTIFACT, into)
            return load_checked(artifact, expected, self.trusted_types,
                                f"{model} v{version} (MLflow)")  # fmt: skip
