"""Serve the registry's champion in an app, and hot-swap it when driftd promotes another.

Needs ``pip install driftd-sdk[model-client]`` (skops, to load artifacts without
pickle); ``driftd-sdk[mlflow]`` to read the champion from MLflow's model registry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from driftd_sdk.kafka import bootstrap_settings, open_reader
from driftd_sdk.registry import FileRegistryReader, ModelSource

log = logging.getLogger("driftd_sdk.model_client")

ShadowSink = Callable[[int, Any], None]  # (challenger version, its prediction)
SHADOW_QUEUE = 1000  # requests waiting for the shadow scorer; past it they are skipped


class Served(NamedTuple):
    """What answered a request: publish ``version`` as the prediction's model_version."""

    version: int
    prediction: Any


class Trial(NamedTuple):
    """The challenger on live trial, loaded: its record (mode, share) and model."""

    version: int
    mode: str  # shadow | ab
    share: float
    model: Any


def bucket(model_id: str, version: int, key: str) -> float:
    """Where an entity key falls in [0, 1) for a trial of ``version``: the same key
    always lands in the same arm of one trial (a user sees one model), and each trial
    draws its arms anew. blake2b, not ``hash()``: the same in every process."""
    digest = hashlib.blake2b(f"{model_id}\0{version}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


class ModelClient:
    """Serve the registry's champion and hot-swap it when a new one is promoted.

        client = ModelClient("/var/lib/driftd/registry", "credit-risk")
        client.listen_kafka("broker:9092")      # or client.watch() to poll the registry
        y = client.predict(X)    # and publish_prediction(..., model_version=client.version)

    ``registry`` is driftd's registry directory or any :class:`ModelSource`
    (``MlflowRegistryReader("http://mlflow:5000")`` for MLflow's registry).

    A new version is loaded (sha256 checked, skops with an allowlist: never unpickled)
    in the background, and only then swapped in with one reference assignment: requests
    in flight finish on the old model, new ones get the new one, none is dropped. A
    version that fails its checks is refused and the current one keeps serving.

    During a live trial of a challenger (``retrain.live``), :meth:`serve` does the
    app's part: in ``ab`` mode it routes the trial's share of entity keys to the
    challenger (by a hash of the key: deterministic); in ``shadow`` mode the champion
    answers and the challenger scores the same input on a background thread, off the
    request path, handing its prediction to ``shadow`` (publish it as a shadow event).

        served = client.serve(X, key=user_id, shadow=lambda version, y: publisher.
            publish_prediction(model, features, y[0], event_id=event_id,
                               model_version=version, shadow=True))
        publisher.publish_prediction(model, features, served.prediction[0],
                                     event_id=event_id, model_version=served.version)
    """

    def __init__(
        self,
        registry: str | Path | ModelSource,
        model_id: str,
        trusted_types: list[str] | None = None,
        shadow_queue: int = SHADOW_QUEUE,
    ):
        """``shadow_queue``: requests that may wait for the shadow scorer in a shadow
        trial; past it a request's shadow score is skipped (counted), never waited for."""
        self.model_id = model_id
        if isinstance(registry, str | Path):
            self._registry: ModelSource = FileRegistryReader(registry, trusted_types)
        else:
            self._registry = registry
        version = self._registry.champion(model_id)
        if version is None:
            raise LookupError(f"{model_id!r} has no champion in {registry}")
        self._current: tuple[int, Any] = (version, self._registry.load(model_id, version))
        self._trial: Trial | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._shadow_queue: queue.Queue[tuple[Trial, Any, ShadowSink]] = queue.Queue(shadow_queue)
        self._lock = threading.Lock()
        self._scorer_started = False
        self.swaps = 0
        # The challenger's account: shadow scores handed on, skipped (queue full), failed
        # (shadow, or an A/B request the champion then answered), seconds spent scoring.
        self.shadow_stats = {"scored": 0, "skipped": 0, "failed": 0, "seconds": 0.0}
        self.sync_trial()

    @property
    def version(self) -> int:
        return self._current[0]

    @property
    def model(self) -> Any:
        return self._current[1]

    def predict(self, X: Any) -> Any:
        return self._current[1].predict(X)

    def predict_proba(self, X: Any) -> Any:
        return self._current[1].predict_proba(X)

    @property
    def trial(self) -> Trial | None:
        return self._trial

    def serve(self, X: Any, key: str | None = None, shadow: ShadowSink | None = None) -> Served:
        """Predict for one request, as the running trial says (none: the champion).
        ``key``: the entity the A/B split is by (a user, an account); ``shadow``: called
        with (version, prediction) on the shadow scorer's thread."""
        version, model = self._current
        trial = self._trial
        if (trial is not None and trial.mode == "ab" and key is not None
                and bucket(self.model_id, trial.version, key) < trial.share):  # fmt: skip
            try:
                return Served(trial.version, trial.model.predict(X))
            except Exception as exc:  # the champion answers; the trial sees fewer events
                self.shadow_stats["failed"] += 1
                log.warning("%s v%s failed a request, the champion answered: %s",
                            self.model_id, trial.version, exc)  # fmt: skip
        served = Served(version, model.predict(X))
        if trial is not None and trial.mode == "shadow" and shadow is not None:
            try:  # never waits: a full queue skips this request's shadow score
                self._shadow_queue.put_nowait((trial, X, shadow))
            except queue.Full:
                self.shadow_stats["skipped"] += 1
            else:
                self._start_shadow_scorer()
        return served

    def _start_shadow_scorer(self) -> None:
        if self._scorer_started:
            return
        with self._lock:
            if not self._scorer_started:
                self._start(self._score_shadows, "driftd-shadow")
                self._scorer_started = True

    def _score_shadows(self) -> None:
        while not self._stop.is_set():
            try:
                trial, X, sink = self._shadow_queue.get(timeout=0.5)
            except queue.Empty:
                continue
            started = time.perf_counter()
            try:
                prediction = trial.model.predict(X)
                self.shadow_stats["seconds"] += time.perf_counter() - started
                sink(trial.version, prediction)
                self.shadow_stats["scored"] += 1
            except Exception as exc:  # the app's request was answered; count and go on
                self.shadow_stats["failed"] += 1
                log.warning("shadow scoring with %s v%s failed: %s", self.model_id,
                            trial.version, exc)  # fmt: skip
            finally:
                self._shadow_queue.task_done()

    def drain_shadow(self, timeout: float = 30.0) -> bool:
        """Wait until every queued shadow score was handed on (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._shadow_queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def sync_trial(self, record: Mapping[str, Any] | None = None) -> None:
        """Follow the registry's live trial (or ``record``, from an event): load the
        challenger it names (checked like any version), or drop it when it ended."""
        if record is None:
            reader = getattr(self._registry, "trial", None)
            record = reader(self.model_id) if reader is not None else None
        if record is None or record.get("status", "running") != "running":
            ended = None if record is None else int(record["version"])
            if self._trial is not None and ended in (None, self._trial.version):
                log.info("%s: the trial of version %s ended", self.model_id, self._trial.version)
                self._trial = None
            return
        version = int(record["version"])
        if self._trial is not None and self._trial.version == version:
            return
        try:
            announced = record.get("sha256")
            if announced and self._registry.sha256(self.model_id, version) != announced:
                raise ValueError("the announced sha256 differs from the registry's")
            model = self._registry.load(self.model_id, version)
        except Exception as exc:  # the champion serves alone
            log.error("not trying %s version %s live: %s", self.model_id, version, exc)
            return
        self._trial = Trial(version, str(record["mode"]), float(record.get("share", 1.0)), model)
        log.info("%s: version %s on live %s trial", self.model_id, version, record["mode"])

    def refresh(self, version: int | None = None, sha256: str | None = None) -> bool:
        """Load ``version`` (default: the current champion) and swap it in; False if refused."""
        target = version
        try:
            target = self._registry.champion(self.model_id) if version is None else version
            if target is None or target == self.version:
                return False
            if sha256 is not None and self._registry.sha256(self.model_id, target) != sha256:
                raise ValueError("the announced sha256 differs from the registry's")
            model = self._registry.load(self.model_id, target)
        except Exception as exc:  # the registry away, a refused artifact: keep serving
            log.error("not swapping %s to version %s: %s", self.model_id, target, exc)
            return False
        self._current = (target, model)  # one assignment: atomic for readers
        self.swaps += 1
        log.info("%s now serves version %s", self.model_id, target)
        if self._trial is not None and self._trial.version == target:
            self._trial = None  # the challenger won: it is the champion now
        return True

    def handle_event(self, event: Mapping[str, Any]) -> bool:
        """React to one event of the models topic: a promotion of this model swaps; a
        trial's start loads the challenger, its end drops it."""
        if event.get("model_id") != self.model_id:
            return False
        kind = event.get("type")
        if kind in ("challenger_started", "challenger_ended"):
            self.sync_trial(event)
            return True
        if kind != "model_promoted":
            return False
        swapped = self.refresh(int(event["version"]), event.get("sha256"))
        self.sync_trial()  # a promotion by hand may have ended a trial
        return swapped

    def watch(self, interval: float = 5.0) -> None:
        """Poll the registry's champion alias (no Kafka needed)."""

        def loop() -> None:
            while not self._stop.wait(interval):
                self.refresh()
                self.sync_trial()

        self._start(loop)

    def listen_kafka(
        self,
        bootstrap_servers: str,
        topic: str = "driftd.models",
        client: str = "kafka-python",
        **options: Any,
    ) -> None:
        """Follow the models topic from its end. Every app instance reads every partition
        by assignment, outside any consumer group: each hears every announcement, and
        nothing is left behind on the broker when it stops. ``options`` are the client's
        own settings (security, as for ``Publisher.kafka``)."""
        settings = {**bootstrap_settings(client, bootstrap_servers, "driftd-model-client"),
                    **options}  # fmt: skip
        reader = open_reader(client, settings, topic)  # from the end as of now
        self.refresh()  # a promotion before the end was fixed is in the registry already

        def loop() -> None:
            try:
                while not self._stop.is_set():
                    for record in reader.poll(100, 0.5):
                        try:
                            self.handle_event(json.loads(record.value))
                        except ValueError:
                            log.warning("unreadable event on %s", topic)
            finally:
                reader.close()

        self._start(loop)

    def _start(self, target: Any, name: str = "driftd-model-client") -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
