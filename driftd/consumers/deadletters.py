"""Dead letters: invalid input kept with its reason, never raised, never dropped silently.

A sink counts dead letters by reason (the counts are part of the checkpointed
state) and writes them in batches at each checkpoint, before the state that
counted them is committed: a crash can repeat a dead letter, never lose one.
The embedded runtime appends JSONL to a file in the state directory; the Kafka
runtime produces to a dead-letter topic (:mod:`driftd.consumers.deadletter_topic`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import msgspec

from driftd.events import DeadLetter


class DeadLetterSink:
    """Counts and buffers; subclasses say where a batch goes in ``_write``."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._pending: list[DeadLetter] = []

    def add(self, letter: DeadLetter) -> None:
        self.counts[letter.reason] += 1
        self._pending.append(letter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def flush(self) -> None:
        if self._pending:
            self._write(self._pending)
            self._pending = []

    def _write(self, letters: list[DeadLetter]) -> None:
        """Counted only (no destination configured)."""


class DeadLetterFile(DeadLetterSink):
    def __init__(self, path: str | Path | None):
        super().__init__()
        self.path = Path(path) if path else None
        self._encoder = msgspec.json.Encoder()

    def _write(self, letters: list[DeadLetter]) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as handle:
            handle.write(b"".join(self._encoder.encode(d) + b"\n" for d in letters))


def read_dead_letters(path: str | Path) -> list[DeadLetter]:
    decoder = msgspec.json.Decoder(DeadLetter)
    with Path(path).open("rb") as handle:
        return [decoder.decode(line) for line in handle if line.strip()]
