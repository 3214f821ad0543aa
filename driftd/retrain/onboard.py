"""Making a model already in production the champion: ``driftd models register``.

A team starting with driftd has a model serving; the worker can only compare its
challengers against a champion in the registry. This registers that model: from a skops
file, or from an MLflow artifact URI (``models:/credit/3/model.skops``,
``runs:/<id>/model``) when the registry is MLflow's. The artifact passes the same checks
as any load (skops' allowlist plus ``retrain.trusted_types``; a pickle is refused, never
opened), and its quality on the model's labelled reference is recorded with it, so the
first comparison has numbers to show.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from driftd_sdk.registry import DEFAULT_TRUSTED, load_checked

from driftd.config import ModelSpec
from driftd.config.services import RegistrySpec
from driftd.reference import load_reference
from driftd.retrain.dataset import reference_frame
from driftd.retrain.gates import evaluate
from driftd.retrain.registry import ArtifactRefused, ModelRegistry, sha256_file


def _artifact(source: str, registry: RegistrySpec, into: str) -> Path:
    """A local skops file for ``source``: a path, or an MLflow artifact URI downloaded."""
    if ":/" not in source:
        return Path(source)
    if registry.tracking_uri is None:
        raise ValueError(f"{source} is an MLflow URI: set registry.kind: mlflow and "
                         "registry.tracking_uri")  # fmt: skip
    import mlflow
    from mlflow.artifacts import download_artifacts

    # models:/ URIs resolve through MLflow's registry URI, which only the global says.
    mlflow.set_tracking_uri(registry.tracking_uri)
    mlflow.set_registry_uri(registry.registry_uri or registry.tracking_uri)
    local = Path(download_artifacts(artifact_uri=source, dst_path=into))
    if local.is_file():
        return local
    found = sorted(local.rglob("*.skops"))
    if len(found) != 1:
        kinds = sorted({p.suffix or p.name for p in local.rglob("*") if p.is_file()})
        raise ArtifactRefused(
            f"{source} holds {len(found)} skops files (files: {', '.join(kinds) or 'none'}); "
            "driftd loads only skops artifacts (MLflow's sklearn flavour pickles: save the "
            "model with skops.io.dump and log that file)"
        )
    return found[0]


def register_existing(
    registry: ModelRegistry,
    model_id: str,
    spec: ModelSpec,
    source: str,
    trusted_types: list[str],
    registry_spec: RegistrySpec | None = None,
) -> tuple[int, dict[str, Any]]:
    """Register ``source`` as a new version of ``model_id``; returns (version, its meta).
    Promotion is the caller's (and announced like any other)."""
    with tempfile.TemporaryDirectory(prefix="driftd-register-") as into:
        path = _artifact(source, registry_spec or RegistrySpec(), into)
        if not path.is_file():
            raise FileNotFoundError(f"no artifact at {source}")
        digest = sha256_file(path)  # the registry's checks, the digest trivially true here
        estimator = load_checked(path, digest, [*DEFAULT_TRUSTED, *trusted_types], source)
    meta: dict[str, Any] = {"origin": "registered by hand", "source": source,
                            "source_sha256": digest}  # fmt: skip
    reference = reference_frame(spec, load_reference(model_id, spec))
    if reference is not None and len(reference):
        metric = spec.retrain.gates.metric if spec.retrain else "accuracy"
        meta["metrics"] = {"reference": evaluate(estimator, reference, metric)["value"]}
        meta["reference_metric"] = metric
        meta["reference_rows"] = len(reference)
    version = registry.register(model_id, estimator, meta)
    return version, registry.meta(model_id, version)
