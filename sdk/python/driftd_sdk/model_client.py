"""Serve the registry's champion in an app, and hot-swap it when driftd promotes another.

Needs ``pip install driftd-sdk[model-client]`` (skops, to load artifacts without
pickle); ``driftd-sdk[mlflow]`` to read the champion from MLflow's model registry.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from driftd_sdk.kafka import bootstrap_settings, open_reader
from driftd_sdk.registry import FileRegistryReader, ModelSource

log = logging.getLogger("driftd_sdk.model_client")


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
    """

    def __init__(
        self,
        registry: str | Path | ModelSource,
        model_id: str,
        trusted_types: list[str] | None = None,
    ):
        self.model_id = model_id
        if isinstance(registry, str | Path):
            self._registry: ModelSource = FileRegistryReader(registry, trusted_types)
        else:
            self._registry = registry
        version = self._registry.champion(model_id)
        if version is None:
            raise LookupError(f"{model_id!r} has no champion in {registry}")
        self._current: tuple[int, Any] = (version, self._registry.load(model_id, version))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.swaps = 0

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
        return True

    def handle_event(self, event: Mapping[str, Any]) -> bool:
        """React to one event of the models topic: a promotion of this model swaps."""
        if event.get("type") != "model_promoted" or event.get("model_id") != self.model_id:
            return False
        return self.refresh(int(event["version"]), event.get("sha256"))

    def watch(self, interval: float = 5.0) -> None:
        """Poll the registry's champion alias (no Kafka needed)."""

        def loop() -> None:
            while not self._stop.wait(interval):
                self.refresh()

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

    def _start(self, target: Any) -> None:
        thread = threading.Thread(target=target, name="driftd-model-client", daemon=True)
        thread.start()
        self._threads.append(thread)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
