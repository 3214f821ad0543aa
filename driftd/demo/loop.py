"""The demo's second act: the loop closes (drift -> alert -> retrain -> promotion -> recovery).

During the first act the accuracy-drop and concept-drift alerts file retraining
requests (the model's ``retrain.triggers``). Here the retraining worker takes them:
the champion, version 1, is the production model trained before the downturn; the
worker retunes on the labeled events driftd joined, the challenger passes the gates
and is promoted. The challenger does not serve at once: it goes on a live
shadow trial (``retrain.live``). The app, which serves through ``ModelClient``, keeps
answering with version 1 and scores every request with the challenger too, off the
request path, publishing its prediction as a shadow event; driftd joins the labels to
both, and the worker promotes the challenger once the time-uniform interval of the
accuracy difference clears zero. The app then hot-swaps on the "model promoted" event
and keeps serving the same world (the downturn persists, the faulty release is
reverted); driftd measures the new version's accuracy as labels arrive, next to what
version 1 had fallen to.
"""

from __future__ import annotations

import shutil
import threading
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


HOUR = 120  # requests per serve call: an hour of traffic (SPACING apart), scored together
SHADOW_BATCH = 500  # requests served between trial checks in the shadow phase
SHADOW_BATCHES = 6  # at most; the trial decides well before (min_events 300)


class World:
    """The downturn world the app keeps serving after the first act: applicants, whether
    each repaid, and the stream time the next request comes at."""

    def __init__(self, seed: int, clock: float):
        self.rng = np.random.default_rng(seed)
        self.clock = clock
        self.served = 0

    def serve(self, client: ModelClient, n: int, broker: LocalBroker, tag: str,
              shadow: bool) -> None:  # fmt: skip
        """``n`` requests through the client, an hour of traffic (``HOUR``) per ``serve``
        call, each prediction published with the version that answered (and in a shadow
        trial the challenger's, scored off the request path), then each label after a
        realistic delay (minutes to hours)."""
        rng = self.rng
        people = draw_applicants(rng, n, campaign=np.ones(n, dtype=bool))
        repaid = rng.random(n) < repay_probability(people, downturn=np.ones(n, dtype=bool))
        frame = _frame(people)
        publisher = Publisher.embedded(broker)
        lock = threading.Lock()  # the embedded bus is fed from here and the shadow thread
        times = self.clock + np.arange(1, n + 1) * SPACING
        self.clock = float(times[-1])
        requests = []
        for i in range(n):
            features: dict[str, Any] = {name: float(people.numeric[name][i]) for name in NUMERIC}
            features.update(occupation=str(people.occupation[i]), region=str(people.region[i]))
            requests.append((features, {"event_id": f"app-{tag}-{self.served + i:07d}",
                                        "timestamp": float(times[i]),
                                        "attributes": {"sex": str(people.sex[i])}}))  # fmt: skip
        for start in range(0, n, HOUR):
            batch = requests[start : start + HOUR]
            sink = _shadow_sink(publisher, lock, batch) if shadow else None
            served = client.serve(frame.iloc[start : start + HOUR], shadow=sink)
            scores = client.predict_proba(frame.iloc[start : start + HOUR])[:, 1]
            with lock:
                for (features, common), y, score in zip(batch, served.prediction, scores,
                                                        strict=True):  # fmt: skip
                    publisher.publish_prediction(MODEL_ID, features, int(y), **common,
                                                 score=round(float(score), 6),
                                                 model_version=str(served.version))  # fmt: skip
        client.drain_shadow()
        labels = sorted((common["timestamp"] + rng.uniform(600, 6 * 3600), common["event_id"],
                         int(repaid[i])) for i, (_, common) in enumerate(requests))  # fmt: skip
        for t, event_id, label in labels:
            publisher.publish_label(MODEL_ID, event_id, label, timestamp=t)
        self.served += n


def _shadow_sink(publisher: Publisher, lock: threading.Lock,
                 batch: list[tuple[dict[str, Any], dict[str, Any]]]) -> Any:  # fmt: skip
    """What the app does with the challenger's predictions for a batch of requests: one
    shadow event each, the same event ids."""

    def sink(version: int, predictions: Any) -> None:
        with lock:
            for (features, common), y in zip(batch, predictions, strict=True):
                publisher.publish_prediction(MODEL_ID, features, int(y), **common,
                                             model_version=str(version), shadow=True)  # fmt: skip

    return sink


def shadow_phase(worker: RetrainWorker, client: ModelClient, pipeline: Pipeline, world: World,
                 events: list[dict]) -> dict[str, Any]:  # fmt: skip
    """The challenger on shadow trial: the app keeps answering with version 1 and scores
    every request with the challenger too; driftd joins the labels to both; the worker
    checks the trial after each batch until it decides."""
    verdict = None
    for _ in range(SHADOW_BATCHES):
        broker = LocalBroker()
        world.serve(client, SHADOW_BATCH, broker, "shadow", shadow=True)
        run_source(pipeline, LocalSource(broker))
        told = len(events)
        verdicts = worker.check_trials()
        for event in events[told:]:
            client.handle_event(event)
        verdict = verdicts[0] if verdicts else None
        if verdict is None or verdict.decision != "continue":
            break
    readings = pipeline.store.latest_readings(MODEL_ID)
    found = None if verdict is None else verdict.interval
    return {
        "mode": "shadow",
        "decision": None if verdict is None else verdict.decision,
        "why": None if verdict is None else verdict.why,
        "requests": world.served,
        "pairs": None if found is None else found.challenger_events,
        "difference": None if found is None else [found.low, found.estimate, found.high],
        "challenger_accuracy": None if readings is None else readings[1].get("shadow.accuracy"),
        "champion_accuracy": None if readings is None else readings[1].get("accuracy"),
        # What the daemon received as shadow events, and the requests whose shadow score
        # the client skipped (its queue full): none in the demo.
        "shadow_predictions": None if readings is None
        else readings[1].get("shadow.events.predictions"),
        "shadow_skipped": client.shadow_stats["skipped"],
    }


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
    world = World(app.seed + 100, float(pipeline.clock or 0.0))
    trial = None
    if run is not None and run.status == "trial":
        trial = shadow_phase(worker, client, pipeline, world, events)
    # The app goes on serving the same (downturn) world, through the client.
    n = max(app.n // 5, 1500)
    broker = LocalBroker()
    world.serve(client, n, broker, "after", shadow=False)
    run_source(pipeline, LocalSource(broker))
    client.close()
    after = pipeline.store.latest_readings(MODEL_ID)
    outcome = None if run is None else run.status
    if trial is not None and trial["decision"] in ("promote", "reject"):
        outcome = {"promote": "promoted", "reject": "rejected"}[trial["decision"]]
    return {
        "requests": [r["reason"] for r in (run.reasons if run else [])],
        "outcome": outcome,
        "trial": trial,
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
