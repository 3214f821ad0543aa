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
from driftd.alerts.outbox import Outbox


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


def silences(outbox: Outbox) -> list[Silence]:
    """Every silence in the store, active or not."""
    return [msgspec.convert(value, Silence) for value in outbox.records("silences").values()]


def put_silence(outbox: Outbox, silence: Silence) -> None:
    outbox.record_put("silences", silence.id, msgspec.to_builtins(silence))


def expire_silence(outbox: Outbox, silence_id: str, now: float | None = None) -> bool:
    value = outbox.record_get("silences", silence_id)
    if value is None:
        return False
    silence = msgspec.convert(value, Silence)
    silence.ends_at = min(silence.ends_at, time.time() if now is None else now)
    put_silence(outbox, silence)
    return True
