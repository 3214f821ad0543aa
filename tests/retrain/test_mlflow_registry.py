"""MLflow's model registry as driftd's registry, against a real ``mlflow server``.

What is checked is what a team that knows MLflow would look for in MLflow itself (read
with MLflow's own client, not driftd's): a version per challenger with its gate
verdicts, sha256 and report, the ``champion`` alias moved on promotion and back on
rollback; and that apps load the champion from MLflow and hot-swap on the same event.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import tempfile
import uuid
from pathlib import Path

import numpy as np
import pytest
from driftd_sdk import ModelClient
from driftd_sdk.mlflow_registry import MlflowRegistryReader
from driftd_sdk.registry import ArtifactRefused
from retrain.helpers import config_text, draw, driftd, store_rows, write_reference
from sklearn.linear_model import LogisticRegression

from driftd.config import load_config
from driftd.daemon.builders import model_registry
from driftd.daemon.paths import STORE_FILE, registry_dir
from driftd.retrain.mlflow_registry import MlflowRegistry
from driftd.retrain.registry import Registry
from driftd.retrain.tune import build_estimator
from driftd.store.sqlite import SqliteStore

pytestmark = [pytest.mark.slow, pytest.mark.mlflow]

FEATURES = ["x1", "x2", "color"]


def _model(seed: int) -> LogisticRegression:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, 3))
    return LogisticRegression().fit(X, X[:, 0] > 0)


@pytest.fixture(params=["files", "mlflow"])
def registry(request, tmp_path):
    if request.param == "files":
        return Registry(tmp_path / "registry")
    service = request.getfixturevalue("mlflow_service")
    prefix = f"t{uuid.uuid4().hex[:8]}-"  # one server for the session: a model per test
    return MlflowRegistry(service.url, tmp_path / "registry", name_prefix=prefix)


def test_both_backends_keep_versions_and_aliases_the_same_way(registry):
    one = registry.register("m", _model(0), {"params": {"C": 1}, "gates": {"better": True}})
    two = registry.register("m", _model(1), {"params": {"C": 2}, "gates": {"better": False}})
    assert (one, two) == (1, 2) and registry.versions("m") == [1, 2]
    assert registry.champion("m") is None and registry.aliases("m") == {}
    registry.promote("m", one)
    registry.set_aliases("m", challenger=two)
    assert registry.aliases("m") == {"champion": 1, "challenger": 2}
    registry.promote("m", two)  # the challenger alias goes with the promotion
    assert registry.aliases("m") == {"champion": 2, "previous": 1}
    X = np.random.default_rng(5).normal(size=(20, 3))
    assert (registry.load("m", 2).predict(X) == _model(1).predict(X)).all()
    meta = registry.meta("m", 2)
    assert meta["params"] == {"C": 2} and len(meta["sha256"]) == 64 and meta["version"] == 2
    registry.rollback("m")
    assert registry.aliases("m") == {"champion": 1, "previous": 2}
    with pytest.raises(ValueError, match="no version 7"):
        registry.promote("m", 7)
    with pytest.raises(ValueError, match="unknown alias"):
        registry.set_aliases("m", staging=1)
    assert registry.aliases("m") == {"champion": 1, "previous": 2}


def test_the_worker_registers_in_mlflow_and_apps_follow_its_champion_alias(
    tmp_path, mlflow_service
):
    from mlflow import MlflowClient

    prefix = f"e2e{uuid.uuid4().hex[:6]}-"
    reference = write_reference(tmp_path / "reference.csv")
    path = tmp_path / "driftd.yaml"
    path.write_text(config_text(reference, tmp_path / "state") + f"registry: {{kind: mlflow, "
                    f"tracking_uri: '{mlflow_service.url}', name_prefix: {prefix}}}\n")  # fmt: skip
    config = load_config(path)
    registry = model_registry(config)
    assert isinstance(registry, MlflowRegistry)
    before = draw(4000, shifted=False, seed=10)  # the model in production, pre-shift
    spec = config.models["credit"]
    production = build_estimator(spec, spec.retrain).fit(before[FEATURES], before["label"])
    registry.promote("credit", registry.register("credit", production, {"origin": "pre-shift"}))
    app = ModelClient(MlflowRegistryReader(mlflow_service.url, name_prefix=prefix), "credit")
    assert app.version == 1

    (tmp_path / "state").mkdir(exist_ok=True)
    store = SqliteStore(tmp_path / "state" / STORE_FILE)
    store_rows(store, draw(4000, shifted=True, seed=6), version="1")
    store.close()
    run = driftd("retrain", "credit", "--config", str(path), "--now", "--reason", "test",
                 timeout=600)
    assert run.returncode == 0, run.stderr
    assert "credit: promoted (version 2)" in run.stdout, run.stdout
    assert "could not record" not in run.stderr, run.stderr

    # In MLflow, read with MLflow's own client.
    mlflow = MlflowClient(tracking_uri=mlflow_service.url)
    name = f"{prefix}credit"
    assert mlflow.get_registered_model(name).aliases == {"champion": "2", "previous": "1"}
    version = mlflow.get_model_version(name, "2")
    assert version.tags["driftd.gates"] == "passed"
    assert version.tags["driftd.gate.better"] == "passed"
    with tempfile.TemporaryDirectory() as into:
        from mlflow.artifacts import download_artifacts

        uri = f"{version.source}/model.skops"
        artifact = Path(download_artifacts(artifact_uri=uri, dst_path=into,
                                           tracking_uri=mlflow_service.url))  # fmt: skip
        digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    assert version.tags["driftd.sha256"] == digest
    mlflow_run = mlflow.get_run(version.run_id)
    (c,) = [v for k, v in mlflow_run.data.params.items() if k.split("__")[-1] == "C"]
    assert float(c) > 0, mlflow_run.data.params  # the search's best hyperparameters
    assert 0.5 < mlflow_run.data.metrics["holdout.accuracy"] <= 1
    logged = {a.path for d in ("model", "report") for a in mlflow.list_artifacts(version.run_id, d)}
    assert logged == {"model/model.skops", "model/meta.json", "report/report.json",
                      "report/report.html"}  # fmt: skip
    experiment = mlflow.get_experiment_by_name("driftd/credit")
    assert experiment is not None and mlflow_run.info.experiment_id == experiment.experiment_id

    # The app hot-swaps on the worker's model_promoted event, loading from MLflow.
    audit = registry_dir(config) / "credit" / "events.jsonl"
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    promoted = [e for e in events if e["type"] == "model_promoted"]
    assert promoted[-1]["version"] == 2 and promoted[-1]["sha256"] == digest
    assert app.handle_event(promoted[-1]) and app.version == 2
    X = draw(200, shifted=True, seed=7)[FEATURES]
    assert (app.predict(X) == registry.load("credit", 2).predict(X)).all()

    # Rolled back from the command line: the alias moves back, MLflow shows it.
    run = driftd("models", "rollback", "credit", "--config", str(path))
    assert run.returncode == 0, run.stderr
    assert mlflow.get_registered_model(name).aliases == {"champion": "1", "previous": "2"}
    app.refresh()
    assert app.version == 1


def test_an_artifact_changed_in_mlflow_or_not_registered_by_driftd_is_refused(
    tmp_path, mlflow_service
):
    from mlflow import MlflowClient

    prefix = f"bad{uuid.uuid4().hex[:6]}-"
    registry = MlflowRegistry(mlflow_service.url, tmp_path / "registry", name_prefix=prefix)
    registry.promote("m", registry.register("m", _model(0), {}))
    app = ModelClient(MlflowRegistryReader(mlflow_service.url, name_prefix=prefix), "m")
    two = registry.register("m", _model(1), {})
    # Someone overwrites version 2's artifact in the artifact store.
    mlflow = MlflowClient(tracking_uri=mlflow_service.url)
    run_id = mlflow.get_model_version(f"{prefix}m", str(two)).run_id
    forged = tmp_path / "forged" / "model.skops"
    forged.parent.mkdir()
    import skops.io as sio

    sio.dump(_model(9), forged)
    mlflow.log_artifact(run_id, str(forged), artifact_path="model")
    with pytest.raises(ArtifactRefused, match="does not match"):
        registry.load("m", two)
    registry.set_aliases("m", champion=two)
    assert not app.refresh() and app.version == 1  # refused: version 1 keeps serving
    # A version made outside driftd (a pickle, no digest tag) is never loaded.
    run = mlflow.create_run(mlflow.get_experiment_by_name("driftd/m").experiment_id)
    pickled = tmp_path / "pickled" / "model.skops"
    pickled.parent.mkdir()
    pickled.write_bytes(pickle.dumps(_model(2)))
    mlflow.log_artifact(run.info.run_id, str(pickled), artifact_path="model")
    outside = mlflow.create_model_version(f"{prefix}m", f"{run.info.artifact_uri}/model",
                                          run_id=run.info.run_id)  # fmt: skip
    with pytest.raises(ArtifactRefused, match="not registered by driftd"):
        registry.load("m", int(outside.version))


def test_a_model_already_in_mlflow_becomes_the_champion_by_its_uri(tmp_path, mlflow_service):
    """`driftd models register MODEL models:/...`: onboarding from MLflow; a pickle logged
    there (MLflow's sklearn flavour) is refused, never opened."""
    import skops.io as sio
    from mlflow import MlflowClient

    prefix = f"on{uuid.uuid4().hex[:6]}-"
    reference = write_reference(tmp_path / "reference.csv")
    path = tmp_path / "driftd.yaml"
    path.write_text(config_text(reference, tmp_path / "state") + f"registry: {{kind: mlflow, "
                    f"tracking_uri: '{mlflow_service.url}', name_prefix: {prefix}}}\n")  # fmt: skip
    spec = load_config(path).models["credit"]
    before = draw(2000, shifted=False, seed=3)
    production = build_estimator(spec, spec.retrain).fit(before[FEATURES], before["label"])

    mlflow = MlflowClient(tracking_uri=mlflow_service.url)
    outside = f"prod{uuid.uuid4().hex[:6]}"  # the team's own registered model
    mlflow.create_registered_model(outside)
    run = mlflow.create_run(mlflow.create_experiment(f"team-{outside}"))
    for kind, blob in (("skops", sio.dumps(production)), ("pkl", pickle.dumps(production))):
        local = tmp_path / kind / f"model.{kind}"
        local.parent.mkdir()
        local.write_bytes(blob)
        mlflow.log_artifact(run.info.run_id, str(local), artifact_path=kind)
    mlflow.create_model_version(outside, f"{run.info.artifact_uri}/skops", run_id=run.info.run_id)

    refused = driftd("models", "register", "credit", f"runs:/{run.info.run_id}/pkl",
                     "--config", str(path))  # fmt: skip
    assert refused.returncode == 1 and "holds 0 skops files" in refused.stderr, refused.stderr
    done = driftd("models", "register", "credit", f"models:/{outside}/1", "--config", str(path))
    assert done.returncode == 0, done.stderr
    assert "registered version 1" in done.stdout and "champion None -> 1" in done.stdout
    assert mlflow.get_registered_model(f"{prefix}credit").aliases == {"champion": "1"}
    registry = model_registry(load_config(path))
    X = draw(300, shifted=True, seed=4)[FEATURES]
    assert (registry.load("credit", 1).predict(X) == production.predict(X)).all()
    assert registry.meta("credit", 1)["source"] == f"models:/{outside}/1"


def test_both_backends_keep_a_live_trial_that_apps_read(registry):
    """The trial record (what ModelClient follows) in the directory or as the registered
    model's tag; the SDK's readers see a running trial and not a closed one."""
    from driftd_sdk.mlflow_registry import MlflowRegistryReader
    from driftd_sdk.registry import FileRegistryReader

    registry.promote("m", registry.register("m", _model(0), {}))
    two = registry.register("m", _model(1), {})
    assert registry.trial("m") is None
    record = {"status": "running", "version": two, "champion": 1, "mode": "ab", "share": 0.2,
              "sha256": registry.sha256("m", two)}  # fmt: skip
    registry.set_trial("m", record)
    if isinstance(registry, Registry):
        reader = FileRegistryReader(registry.root)
    else:
        reader = MlflowRegistryReader(registry.tracking_uri, name_prefix=registry.name_prefix)
    assert registry.trial("m") == record == reader.trial("m")
    registry.set_trial("m", {**record, "status": "rejected"})
    assert registry.trial("m") is None and reader.trial("m") is None
