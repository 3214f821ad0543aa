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

# Dead letters held for the next checkpoint are written early past this many bytes:
# 6,000 letters of 40 KB held for a replay's checkpoint cost 950 MB of RSS. Early is
# safe (they are at-least-once; the checkpoint still flushes the rest first).
MAX_PENDING_BYTES = 8 << 20


class DeadLetterSink:
    """Counts and buffers; subclasses say where a batch goes in ``_write``."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._pending: list[DeadLetter] = []
        self._pending_bytes = 0

    def add(self, letter: DeadLetter) -> None:
        self.counts[letter.reason] += 1
        self._pending.append(letter)
        self._pending_bytes += len(letter.raw or letter.raw_b64 or "")
        if self._pending_bytes > MAX_PENDING_BYTES:
            self.flush()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def flush(self) -> None:
        if self._pending:
            self._write(self._pending)
            self._pending = []
        self._pending_bytes = 0

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
