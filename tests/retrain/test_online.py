"""river models retrain online: the first run learns in time order, later runs continue."""

from __future__ import annotations

import numpy as np
import skops.io as sio
from retrain.helpers import config_text, draw, store_rows, write_reference

from driftd.alerts.dispatch import Dispatcher
from driftd.config import load_config
from driftd.daemon.paths import STORE_FILE, registry_dir
from driftd.retrain.online import RiverModel
from driftd.retrain.registry import Registry
from driftd.retrain.request_queue import RequestQueue
from driftd.retrain.worker import RetrainWorker
from driftd.store.sqlite import SqliteStore

FEATURES = ["x1", "x2", "color"]


def river_types() -> list[str]:
    """What skops asks to trust for a fitted RiverModel (named in the config)."""
    sample = draw(50, shifted=True, seed=0)
    model = RiverModel("river.linear_model.LogisticRegression").fit(
        sample[FEATURES], sample["label"]
    )
    return sio.get_untrusted_types(data=sio.dumps(model))


def test_river_model_learns_then_continues_incrementally(tmp_path):
    reference = write_reference(tmp_path / "reference.csv")
    text = config_text(
        reference, tmp_path / "state", estimator="river.linear_model.LogisticRegression",
        params="{}", search="{space: {}}", trusted_types=str(river_types()),
    )  # fmt: skip
    (tmp_path / "driftd.yaml").write_text(text)
    config = load_config(tmp_path / "driftd.yaml")
    (tmp_path / "state").mkdir()
    store = SqliteStore(tmp_path / "state" / STORE_FILE)
    registry = Registry(registry_dir(config), config.models["credit"].retrain.trusted_types)
    worker = RetrainWorker(config, store, registry, RequestQueue(registry_dir(config)),
                           Dispatcher([]))  # fmt: skip
    store_rows(store, draw(3000, shifted=True, seed=1), version="0")
    worker.queue.put("credit", "first")
    (first,) = worker.run_pending()
    assert first.status == "promoted" and first.report["search"]["method"] != "incremental"
    model = registry.load("credit", first.version)
    assert isinstance(model, RiverModel) and model.learned_ == 2250  # train rows, in order
    store_rows(store, draw(1000, shifted=True, seed=2), version=str(first.version),
               start=1.8e9 + 10_000)  # fmt: skip
    worker.queue.put("credit", "more labels")
    (second,) = worker.run_pending()
    search = second.report["search"]
    assert search["method"] == "incremental"
    # Of 4000 rows the newest 1000 are the new holdout; of the 3000 older ones it had
    # learned 2250: it learns only the previous holdout's 750, not everything again.
    assert search["rows_learned"] == 750
    continued = registry.load("credit", second.version)
    assert continued.learned_ == model.learned_ + search["rows_learned"]
    test = draw(5000, shifted=True, seed=3)
    assert np.mean(continued.predict(test[FEATURES]) == test["label"]) > 0.75
