"""Reading models out of a registry: the champion alias, and artifacts never unpickled.

What :class:`~driftd_sdk.ModelClient` needs from a registry, and the one way driftd
loads an artifact: its sha256 checked against the one recorded at registration, then
skops asked which types the file would create, and any type that is not trusted
(skops' defaults, :data:`DEFAULT_TRUSTED`, plus what the caller adds) refused before
anything is constructed. A pickle, or a skops file naming an unknown callable, never
runs. Needs ``driftd-sdk[model-client]`` (skops, which brings scikit-learn).

Two registries implement :class:`ModelSource`: driftd's own directory
(:class:`FileRegistryReader`; the daemon's ``Registry`` writes it) and MLflow's model
registry (:mod:`driftd_sdk.mlflow_registry`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Protocol

# Types skops asks about for ordinary scikit-learn models: data types and compiled tree
# structures, no callables. Anything else must be named by the caller (the daemon's
# retrain.trusted_types).
DEFAULT_TRUSTED = (
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


TRIAL_FILE = "trial.json"  # the live trial's record, beside aliases.json


class ArtifactRefused(RuntimeError):
    """The artifact failed its hash check or would load untrusted types."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_checked(artifact: Path, expected_sha256: str, trusted: list[str], what: str) -> Any:
    """The estimator in a skops ``artifact``, after its hash and type checks; ``what``
    names it in the refusal ("credit v3")."""
    import skops.io as sio

    actual = sha256_file(artifact)
    if actual != expected_sha256:
        raise ArtifactRefused(
            f"{what}: artifact sha256 {actual[:12]}... does not match the "
            f"registered {expected_sha256[:12]}...: refusing to load a modified file"
        )
    try:
        untrusted = sio.get_untrusted_types(file=artifact)
    except Exception as exc:  # not a skops file (e.g. a pickle): never unpickle it
        raise ArtifactRefused(f"{what}: not a skops artifact ({exc})") from None
    unknown = [t for t in untrusted if t not in trusted]
    if unknown:
        raise ArtifactRefused(
            f"{what}: would load untrusted types {unknown}; add them to "
            "retrain.trusted_types if you trust them"
        )
    return sio.load(artifact, trusted=untrusted)


class ModelSource(Protocol):
    """What a model client reads: which version is the champion, and a version's model."""

    def champion(self, model: str) -> int | None: ...

    def sha256(self, model: str, version: int) -> str:
        """The artifact's digest recorded at registration."""

    def load(self, model: str, version: int) -> Any:
        """The estimator, checked (raises :class:`ArtifactRefused`)."""

    def trial(self, model: str) -> dict[str, Any] | None:
        """The challenger on live trial (``version``, ``mode``: shadow or ab, ``share``,
        ``sha256``), or None."""


class FileRegistryReader:
    """driftd's registry directory, read-only. Layout under the registry directory::

        <model>/versions/<n>/model.skops     the artifact (skops: no pickle)
        <model>/versions/<n>/meta.json       params, metrics, gate verdicts, sha256, ...
        <model>/aliases.json                 {"champion": n, "challenger": m, "previous": k}
        <model>/trial.json                   the challenger on live trial, if any
    """

    def __init__(self, root: str | Path, trusted_types: list[str] | None = None):
        self.root = Path(root)
        self.trusted_types = [*DEFAULT_TRUSTED, *(trusted_types or [])]

    def _model_dir(self, model: str) -> Path:
        return self.root / model

    def _version_dir(self, model: str, version: int) -> Path:
        return self._model_dir(model) / "versions" / str(version)

    def versions(self, model: str) -> list[int]:
        directory = self._model_dir(model) / "versions"
        if not directory.exists():
            return []
        # ASCII digits only: "²".isdigit() is true and int("²") raises.
        return sorted(int(p.name) for p in directory.iterdir()
                      if p.name.isascii() and p.name.isdigit())  # fmt: skip

    def meta(self, model: str, version: int) -> dict[str, Any]:
        return json.loads((self._version_dir(model, version) / "meta.json").read_text())

    def sha256(self, model: str, version: int) -> str:
        return str(self.meta(model, version)["sha256"])

    def load(self, model: str, version: int) -> Any:
        """The estimator of a version, after its hash and type checks."""
        artifact = self._version_dir(model, version) / "model.skops"
        return load_checked(artifact, self.sha256(model, version), self.trusted_types,
                            f"{model} v{version}")  # fmt: skip

    def aliases(self, model: str) -> dict[str, int]:
        path = self._model_dir(model) / "aliases.json"
        if not path.exists():
            return {}
        return {k: int(v) for k, v in json.loads(path.read_text()).items() if v is not None}

    def champion(self, model: str) -> int | None:
        return self.aliases(model).get("champion")

    def trial(self, model: str) -> dict[str, Any] | None:
        try:
            record = json.loads((self._model_dir(model) / TRIAL_FILE).read_text())
        except FileNotFoundError:
            return None
        return record if record.get("status") == "running" else None
