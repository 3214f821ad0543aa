"""Dead letters: invalid input kept with its reason, never raised, never dropped silently.

The embedded runtime appends them to a JSONL file in the state directory, in
batches (one write per processed batch, not per event).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import msgspec

from driftd.events import DeadLetter


class DeadLetterFile:
    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path else None
        self.counts: Counter[str] = Counter()
        self._pending: list[DeadLetter] = []
        self._encoder = msgspec.json.Encoder()

    def add(self, letter: DeadLetter) -> None:
        self.counts[letter.reason] += 1
        self._pending.append(letter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def flush(self) -> None:
        if not self._pending:
            return
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as handle:
                handle.write(b"".join(self._encoder.encode(d) + b"\n" for d in self._pending))
        self._pending.clear()


def read_dead_letters(path: str | Path) -> list[DeadLetter]:
    decoder = msgspec.json.Decoder(DeadLetter)
    with Path(path).open("rb") as handle:
        return [decoder.decode(line) for line in handle if line.strip()]
