"""The dead-letter ratio guard: stop draining a broken stream into dead letters.

When an upstream deploy starts sending garbage, every event becomes a dead letter
and the real signal is gone by the time someone looks. The guard watches the
last ``window`` messages; when more than ``max_ratio`` of them were dead letters
it trips: the runtime checkpoints, pauses consumption for ``pause_seconds`` (the
input waits in Kafka, unharmed) and raises an alert. After the pause it resumes
with a fresh window, so a fixed upstream recovers on its own and a still-broken
one trips again after at most ``window`` more messages.
"""

from __future__ import annotations

from collections import deque


class DeadLetterGuard:
    def __init__(self, max_ratio: float, window: int, pause_seconds: float):
        self.max_ratio = max_ratio
        self.window = window
        self.pause_seconds = pause_seconds
        self._chunks: deque[tuple[int, int]] = deque()  # (messages, dead letters) per batch
        self._messages = 0
        self._dead = 0
        self.paused_until: float | None = None
        self.trips = 0

    @property
    def ratio(self) -> float:
        return self._dead / self._messages if self._messages else 0.0

    def record(self, messages: int, dead: int) -> None:
        self._chunks.append((messages, dead))
        self._messages += messages
        self._dead += dead
        # Keep the most recent `window` messages (whole batches; the oldest drop first).
        while len(self._chunks) > 1 and self._messages - self._chunks[0][0] >= self.window:
            old_messages, old_dead = self._chunks.popleft()
            self._messages -= old_messages
            self._dead -= old_dead

    @property
    def full(self) -> bool:
        """The window holds at least ``window`` messages: its ratio means something."""
        return self._messages >= self.window

    def should_trip(self) -> bool:
        return self.full and self.ratio > self.max_ratio

    def trip(self, now: float) -> None:
        self.trips += 1
        self.paused_until = now + self.pause_seconds

    def paused(self, now: float) -> bool:
        if self.paused_until is not None and now >= self.paused_until:
            self.paused_until = None
            self.reset()
        return self.paused_until is not None

    def reset(self) -> None:
        self._chunks.clear()
        self._messages = self._dead = 0
