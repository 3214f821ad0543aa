"""Local sources: the embedded runtime's stand-ins for Kafka, behind the same interface.

:class:`LocalBroker` is an in-process broker for one process: apps (the demo's, or
tests) publish to its topics through ``driftd_sdk.Publisher.embedded(broker)``, and
a :class:`LocalSource` consumes what was published, in publish order across topics
(the order an app produced in, which is what a single-partition replay should see).
:class:`MessageSource` consumes any iterable of messages and :func:`jsonl_messages`
reads JSONL files, one message per line (``driftd replay``).

Local sources are read once: each has a single partition (0), no committed offsets
to seek to, and ends (``finished()``) when its input is used up, where a Kafka
consumer never ends. The driver loop (daemon/driver.py) runs over either kind.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from driftd.consumers.source import RebalanceListener, Record, TopicPartition

Message = tuple[bytes, str, int]  # raw bytes, where it came from, offset


class LocalBroker:
    """Topics in memory; one partition each, offsets counting from 0 per topic."""

    def __init__(self) -> None:
        self._log: deque[Record] = deque()
        self._next: dict[str, int] = {}

    def publish(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        offset = self._next.get(topic, 0)
        self._next[topic] = offset + 1
        self._log.append(Record(topic, 0, offset, value, key))

    def __len__(self) -> int:
        return len(self._log)

    def take(self, max_records: int) -> list[Record]:
        """The oldest published records (each is consumed once)."""
        log = self._log
        return [log.popleft() for _ in range(min(max_records, len(log)))]


class _Local:
    """What every local source shares: one partition per topic, nothing to commit."""

    def __init__(self) -> None:
        self._topics: list[str] = []

    def subscribe(self, topics: list[str], listener: RebalanceListener) -> None:
        self._topics = list(topics)
        listener.assigned([(topic, 0) for topic in topics])

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Nothing to commit: a local source is read once."""

    def pause(self, partitions: list[TopicPartition]) -> None:
        """Local input cannot drain away while paused; nothing to do."""

    def resume(self, partitions: list[TopicPartition]) -> None:
        """See ``pause``."""

    def assignment(self) -> list[TopicPartition]:
        return [(topic, 0) for topic in self._topics]

    def high_watermarks(self) -> dict[TopicPartition, int]:
        return {}

    def close(self) -> None:
        """Nothing to release."""


class LocalSource(_Local):
    """Consumes a :class:`LocalBroker` (every topic it was subscribed to)."""

    def __init__(self, broker: LocalBroker):
        super().__init__()
        self.broker = broker

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        wanted = set(self._topics)
        return [r for r in self.broker.take(max_records) if r.topic in wanted]

    def finished(self) -> bool:
        return len(self.broker) == 0


class MessageSource(_Local):
    """Consumes an iterable of messages, ``(raw bytes, origin, offset)`` each; the
    origin is what a dead letter made of the message says it came from."""

    def __init__(self, messages: Iterable[Message]):
        super().__init__()
        self._messages: Iterator[Message] = iter(messages)
        self._done = False

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        batch = list(islice(self._messages, max_records))
        if len(batch) < max_records:
            self._done = True
        return [Record(origin, 0, offset, raw, origin=origin) for raw, origin, offset in batch]

    def finished(self) -> bool:
        return self._done


def jsonl_messages(paths: Iterable[str | Path]) -> Iterator[Message]:
    """Each non-blank line of each file is one message; its origin is 'file:line'."""
    for path in paths:
        with Path(path).open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                line = line.rstrip(b"\r\n")
                if line.strip():
                    yield line, f"{path}:{number}", number
