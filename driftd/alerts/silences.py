"""Silences: mute matching alerts until an expiry (maintenance, a known incident).

Created with ``driftd silence add``, listed and expired the same way; kept in the
store (SQLite embedded, Redis in production) so every daemon instance sees them.
A silenced alert still changes state and is logged; it is only not notified.
"""

from __future__ import annotations

import time
import uuid

import msgspec

from driftd.alerts.matchers import matches


class Silence(msgspec.Struct, kw_only=True):
    id: str
    matchers: dict[str, str]
    starts_at: float
    ends_at: float
    created_by: str = ""
    comment: str = ""

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def mutes(self, alert_labels: dict[str, str], now: float) -> bool:
        return self.active(now) and matches(self.matchers, alert_labels)


def new_silence(
    matchers: dict[str, str], duration: float, created_by: str = "", comment: str = ""
) -> Silence:
    now = time.time()
    return Silence(
        id=uuid.uuid4().hex[:12],
        matchers=matchers,
        starts_at=now,
        ends_at=now + duration,
        created_by=created_by,
        comment=comment,
    )
