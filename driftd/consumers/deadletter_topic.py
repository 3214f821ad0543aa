"""The dead-letter topic: invalid events produced with their original bytes.

Value: the bytes exactly as consumed. Headers: ``driftd.reason``, ``driftd.detail``,
``driftd.source.topic``, ``driftd.source.partition``, ``driftd.source.offset``.
A batch is flushed and acknowledged by the broker before the checkpoint that
counted it is committed (at-least-once: a crash may repeat a dead letter, never
lose one).
"""

from __future__ import annotations

from driftd.consumers.deadletters import DeadLetterSink
from driftd.consumers.source import Producer
from driftd.events import DeadLetter


class DeadLetterUndelivered(RuntimeError):
    """The broker did not acknowledge the dead letters in time; do not checkpoint yet."""


def dead_letter_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    topic, _, partition = letter.source.rpartition(":")
    if not topic:  # not "topic:partition" (e.g. the join's orphans)
        topic, partition = letter.source, ""
    return [
        ("driftd.reason", letter.reason.encode()),
        ("driftd.detail", letter.detail.encode()[:1000]),
        ("driftd.source.topic", topic.encode()),
        ("driftd.source.partition", partition.encode()),
        ("driftd.source.offset", b"" if letter.offset is None else str(letter.offset).encode()),
    ]


class DeadLetterTopic(DeadLetterSink):
    def __init__(self, producer: Producer, topic: str, flush_timeout: float = 30.0):
        super().__init__()
        self.producer = producer
        self.topic = topic
        self.flush_timeout = flush_timeout

    def _write(self, letters: list[DeadLetter]) -> None:
        for letter in letters:
            self.producer.produce(
                self.topic, letter.original_bytes(), None, dead_letter_headers(letter)
            )
        remaining = self.producer.flush(self.flush_timeout)
        if remaining:
            raise DeadLetterUndelivered(
                f"{remaining} dead letters not acknowledged by Kafka within {self.flush_timeout}s"
            )
