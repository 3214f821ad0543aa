"""The demo's second act: the loop closes (drift -> alert -> retrain -> promotion -> recovery).

During the first act the accuracy-drop and concept-drift alerts file retraining
requests (the model's ``retrain.triggers``). Here the retraining worker takes them:
the champion, version 1, is the production model trained before the downturn; the
worker retunes on the labeled events driftd joined, the challenger passes the gates
and is promoted. The app, which serves through ``ModelClient``, hot-swaps on the
"model promoted" event and keeps serving the same world (the downturn persists, the
faulty release is reverted); driftd measures the new version's accuracy as labels
arrive, next to what version 1 had fallen to.
"""

from __future__ import annotations

import shutil
from typing import Any

import numpy as np
import pandas as pd
from driftd_sdk import ModelClient, Publisher

from driftd.config import Config
from driftd.consumers.local import LocalBroker, LocalSource
from driftd.daemon.embedded import run_source
from driftd.daemon.paths import registry_dir
from driftd.daemon.pipeline import Pipeline
from driftd.demo.app import (
    MODEL_ID,
    NUMERIC,
    SPACING,
    DemoApp,
    draw_applicants,
    repay_probability,
)
from driftd.retrain.registry import Registry
from driftd.retrain.request_queue import RequestQueue
from driftd.retrain.tune import build_estimator
from driftd.retrain.worker import RetrainWorker


def _frame(people: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {**people.numeric, "occupation": people.occupation, "region": people.region}
    )


def register_production_model(config: Config, seed: int) -> Registry:
    """Version 1: the app's model, trained on pre-downturn data, as the champion."""
    spec = config.models[MODEL_ID]
    shutil.rmtree(registry_dir(config), ignore_errors=True)  # the demo always starts fresh
    registry = Registry(registry_dir(config))
    rng = np.random.default_rng(seed)
    people = draw_applicants(rng, 6000)
    y = (rng.random(people.n) < repay_probability(people)).astype(int)
    model = build_estimator(spec, spec.retrain).fit(_frame(people), y)  # type: ignore[arg-type]
    registry.promote(MODEL_ID, registry.register(MODEL_ID, model, {"origin": "production"}))
    return registry


def second_act(config: Config, pipeline: Pipeline, app: DemoApp, registry: Registry) -> dict:
    before = pipeline.store.latest_readings(MODEL_ID)
    events: list[dict] = []
    queue = RequestQueue(registry_dir(config))
    filed = queue.pending()
    if MODEL_ID not in filed:  # no trigger alert fired: ask, as an operator would
        queue.put(MODEL_ID, "demo: end of the first act")
    worker = RetrainWorker(config, pipeline.store, registry, queue, pipeline.dispatcher,
                           events.append)  # fmt: skip
    client = ModelClient(str(registry_dir(config)), MODEL_ID)
    served_before = client.version
    results = worker.run_pending()
    for event in events:
        client.handle_event(event)
    run = results[0] if results else None

    # The app goes on serving the same (downturn) world, through the client.
    rng = np.random.default_rng(app.seed + 100)
    n = max(app.n // 5, 1500)
    people = draw_applicants(rng, n, campaign=np.ones(n, dtype=bool))
    repaid = rng.random(n) < repay_probability(people, downturn=np.ones(n, dtype=bool))
    scores = client.predict_proba(_frame(people))[:, 1]
    start = float(pipeline.clock or 0.0) + SPACING
    times = start + np.arange(n) * SPACING
    timeline = []
    for i in range(n):
        features: dict[str, Any] = {name: float(people.numeric[name][i]) for name in NUMERIC}
        features.update(occupation=str(people.occupation[i]), region=str(people.region[i]))
        timeline.append((times[i], "p", i, features))
        timeline.append((times[i] + rng.uniform(600, 6 * 3600), "l", i, None))
    broker = LocalBroker()
    bus_publisher = Publisher.embedded(broker)
    for t, kind, i, features in sorted(timeline, key=lambda item: item[0]):
        event_id = f"app-{app.seed}-act2-{i:07d}"
        if kind == "p":
            bus_publisher.publish_prediction(
                MODEL_ID, features, int(scores[i] >= 0.5), score=round(float(scores[i]), 6),
                event_id=event_id, timestamp=float(t), model_version=str(client.version),
                attributes={"sex": str(people.sex[i])},
            )  # fmt: skip
        else:
            bus_publisher.publish_label(MODEL_ID, event_id, int(repaid[i]), timestamp=float(t))
    run_source(pipeline, LocalSource(broker))
    after = pipeline.store.latest_readings(MODEL_ID)
    return {
        "requests": [r["reason"] for r in (run.reasons if run else [])],
        "outcome": None if run is None else run.status,
        "version_before": served_before,
        "version_after": client.version,
        "report": None if run is None or run.report_path is None else str(run.report_path),
        "why": None if run is None else {
            k: v["why"] for k, v in run.report.get("gates", {}).get("verdicts", {}).items()
        },
        "accuracy_before": None if before is None else before[1].get("accuracy"),
        "accuracy_after": None if after is None else after[1].get("accuracy"),
        "predictions_after": n,
    }  # fmt: skip
