"""The silence stage: alerts an active silence matches are not notified.

Silences are records in the outbox (alerts/silences.py), written by `driftd silence`
or the HTTP API from any process; the stage re-reads them every few seconds, so a
running daemon picks a change up quickly without a read per flush.
"""

from __future__ import annotations

from collections.abc import Callable

from driftd.alerts.model import Tracked
from driftd.alerts.silences import Silence


class SilenceStage:
    def __init__(self, load: Callable[[], list[Silence]], reread_every: float = 5.0):
        self._load = load
        self._reread_every = reread_every
        self._silences: list[Silence] = []
        self._read_at = -1e18

    def active(self, now: float) -> list[Silence]:
        if now - self._read_at >= self._reread_every:
            self._silences = self._load()
            self._read_at = now
        return [s for s in self._silences if s.active(now)]

    def exec(self, candidates: list[Tracked], now: float) -> list[Tracked]:
        """The candidates no active silence mutes."""
        muted = self.active(now)
        return [t for t in candidates if not any(s.mutes(t.labels, now) for s in muted)]
