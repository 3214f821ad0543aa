"""What production apps import: publish predictions and labels without risk to requests.

    from driftd_sdk import Publisher

    publisher = Publisher.kafka("broker:9092")          # kafka-python by default: light install
    event_id = publisher.publish_prediction("credit-risk", features, prediction=1, score=0.83)
    ...                                                 # days later, elsewhere
    publisher.publish_label("credit-risk", event_id, label=0)

The promise to the app: ``publish_*`` never blocks on the network and never
raises. Events go into a bounded in-memory queue that a background thread
hands to the Kafka client in batches; when the queue is full (the broker has
been away for a while) new events are dropped, counted in ``stats`` and logged
(rate-limited), instead of growing memory or slowing the app. The queue is
flushed at exit. Messages are keyed by model_id, so a model's predictions and
labels land on the same partition number of the two topics (see docs/scaling.md).

``Publisher.embedded(bus)`` gives the same API over the in-process bus, for
tests and the demo.

A :class:`Transport` is anything with ``produce``/``flush``/``close``: the Kafka one
here, the daemon's in-process bus, or an app's own.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from typing import Any, Protocol

import msgspec

from driftd_sdk.events import Label, Prediction, Scalar, encode
from driftd_sdk.kafka import BufferFull, bootstrap_settings, open_producer

log = logging.getLogger("driftd_sdk")


# msgspec Structs rather than dataclasses: msgspec is imported anyway, and dataclasses
# (with inspect) would add a tenth to the SDK's import time.
class Topics(msgspec.Struct, frozen=True):
    """Where events go: the daemon's ``kafka.topics`` (its defaults are these)."""

    predictions: str = "driftd.predictions"
    labels: str = "driftd.labels"


class TopicNames(Protocol):  # Topics, or the daemon's TopicsSpec
    @property
    def predictions(self) -> str: ...

    @property
    def labels(self) -> str: ...


class Transport(Protocol):
    def produce(self, topic: str, value: bytes, key: bytes | None = None) -> None: ...

    def flush(self, timeout: float) -> int: ...

    def close(self) -> None: ...


class PublisherStats(msgspec.Struct):
    """What happened to the events handed to ``publish_*`` so far."""

    queued: int = 0
    sent: int = 0
    dropped: int = 0
    failed: int = 0


class _KafkaTransport:
    """Opens the client on first use, from the background thread: a broker that is
    down when the app starts (kafka-python refuses to construct then) costs events,
    not the app's start."""

    def __init__(self, client: str, settings: dict[str, Any], max_queued: int):
        self.client = client
        self.settings = settings
        self.max_queued = max_queued
        self.producer: Any = None
        self._next_attempt = 0.0

    def _open(self) -> Any:
        if self.producer is None:
            if time.monotonic() < self._next_attempt:
                raise BufferFull("Kafka client not connected yet")
            try:
                self.producer = open_producer(self.client, self.settings, self.max_queued)
            except Exception as exc:
                self._next_attempt = time.monotonic() + 2.0
                log.warning("driftd publisher cannot reach Kafka yet: %s", exc)
                raise BufferFull(str(exc)) from None
        return self.producer

    def produce(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        self._open().produce(topic, value, key)

    def flush(self, timeout: float) -> int:
        return 0 if self.producer is None else self.producer.flush(timeout)

    def close(self) -> None:
        if self.producer is not None:
            self.producer.close()

    @property
    def failures(self) -> int:
        return 0 if self.producer is None else self.producer.failures


class _BusTransport:
    def __init__(self, bus: Any):
        self.bus = bus

    def produce(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        self.bus.publish(topic, value)

    def flush(self, timeout: float) -> int:
        return 0

    def close(self) -> None:
        pass


class Publisher:
    def __init__(
        self,
        transport: Transport,
        topics: TopicNames | None = None,
        max_buffer: int = 100_000,
        background: bool = True,
    ):
        self.transport = transport
        self.topics: TopicNames = topics or Topics()
        self.max_buffer = max_buffer
        self.stats = PublisherStats()
        self._queue: deque[tuple[str, bytes, bytes]] = deque()
        self._in_flight = 0  # taken off the queue, not yet handed to the client
        self._wake = threading.Condition()
        self._closed = False
        self._closing = False  # close() gave up waiting: drop instead of retrying
        self._last_drop_log = 0.0
        self._stats_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(
                target=self._drain, name="driftd-publisher", daemon=True
            )
            self._thread.start()
            atexit.register(self.close)

    @classmethod
    def kafka(
        cls,
        bootstrap_servers: str,
        client: str = "kafka-python",
        topics: TopicNames | None = None,
        max_buffer: int = 100_000,
        **options: Any,
    ) -> Publisher:
        """Publish to Kafka with ``client`` ("kafka-python" or "confluent");
        ``options`` are that client's own settings (``security_protocol="SSL"``,
        ``sasl_plain_username=...`` for kafka-python; dotted names for confluent, passed
        as ``**{"security.protocol": "SSL"}``)."""
        settings = {**bootstrap_settings(client, bootstrap_servers, "driftd-sdk"), **options}
        return cls(_KafkaTransport(client, settings, max_buffer), topics, max_buffer)

    @classmethod
    def embedded(cls, bus: Any, topics: TopicNames | None = None) -> Publisher:
        return cls(_BusTransport(bus), topics, background=False)

    # -- the app's side: never blocks, never raises ------------------------------------

    def publish_prediction(
        self,
        model_id: str,
        features: Mapping[str, Any],
        prediction: Scalar,
        *,
        score: float | Mapping[str, float] | None = None,
        event_id: str | None = None,
        timestamp: float | None = None,
        model_version: str | int | None = None,
        attributes: Mapping[str, Any] | None = None,
        latency_ms: float | None = None,
        shadow: bool = False,
    ) -> str:
        """Publish one prediction; returns its event_id (pass it to publish_label later).
        ``shadow``: a challenger's prediction for a request already published (the same
        event_id), during a live shadow trial (``ModelClient.serve`` does this)."""
        event_id = event_id or uuid.uuid4().hex
        try:
            event = Prediction(
                event_id=event_id,
                model_id=model_id,
                timestamp=time.time() if timestamp is None else timestamp,
                prediction=prediction,
                features=dict(features),
                model_version=model_version,
                score=dict(score) if isinstance(score, Mapping) else score,
                attributes=dict(attributes or {}),
                latency_ms=latency_ms,
                shadow=shadow,
            )
            self._enqueue(self.topics.predictions, model_id, encode(event))
        except Exception as exc:  # e.g. an unserialisable feature value: the app goes on
            self._drop(f"prediction {event_id} could not be encoded: {exc}")
        return event_id

    def publish_label(
        self, model_id: str, event_id: str, label: Scalar, *, timestamp: float | None = None
    ) -> None:
        try:
            event = Label(
                event_id=event_id,
                model_id=model_id,
                timestamp=time.time() if timestamp is None else timestamp,
                label=label,
            )
            self._enqueue(self.topics.labels, model_id, encode(event))
        except Exception as exc:
            self._drop(f"label {event_id} could not be encoded: {exc}")

    def _enqueue(self, topic: str, model_id: str, value: bytes) -> None:
        if self._thread is None:  # embedded: hand over at once
            self._send(topic, model_id.encode(), value)
            return
        with self._wake:
            if self._closed or len(self._queue) >= self.max_buffer:
                self._drop("publisher closed" if self._closed else "buffer full")
                return
            self._queue.append((topic, model_id.encode(), value))
            self.stats.queued += 1
            self._wake.notify()

    def _drop(self, why: str) -> None:
        with self._stats_lock:  # both the app's threads and the sender drop
            self.stats.dropped += 1
        now = time.monotonic()
        if now - self._last_drop_log >= 10:
            self._last_drop_log = now
            log.warning(
                "driftd publisher dropped an event (%s); %d dropped so far", why, self.stats.dropped
            )

    # -- the background side ---------------------------------------------------------

    def _send(self, topic: str, key: bytes, value: bytes) -> None:
        delay = 0.005
        while True:
            if self._closing:  # close() already waited its timeout: account, do not retry
                self._drop("closed while Kafka was unreachable")
                return
            try:
                self.transport.produce(topic, value, key)
                self.stats.sent += 1
                return
            except BufferFull:  # the client's queue is full: wait here, not in the app
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
            except Exception as exc:
                self.stats.failed += 1
                log.error("driftd publisher could not hand an event to Kafka: %s", exc)
                return

    def _drain(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._closed:
                    self._wake.wait(0.5)
                if not self._queue and self._closed:
                    return
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), 1000))]
                self._in_flight = len(batch)
            for topic, key, value in batch:
                self._send(topic, key, value)
            with self._wake:
                self._in_flight = 0
                self._wake.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued so far is acknowledged; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._wake:
            while (self._queue or self._in_flight) and time.monotonic() < deadline:
                self._wake.wait(0.05)
        remaining = self.transport.flush(max(deadline - time.monotonic(), 0.0))
        self.stats.failed = max(self.stats.failed, getattr(self.transport, "failures", 0))
        return not self._queue and remaining == 0

    def close(self, timeout: float = 30.0) -> None:
        if self._closed:
            return
        delivered = self.flush(timeout)
        with self._wake:
            self._closed = True
            self._closing = not delivered
            if self._closing:
                for _ in range(len(self._queue)):
                    self._drop("closed while Kafka was unreachable")
                self._queue.clear()
            self._wake.notify_all()
        if self._thread is not None:
            # A client still connecting may hold the thread a few seconds more.
            self._thread.join(timeout + 5)
            atexit.unregister(self.close)
        self.transport.close()
