"""Silences: mute matching alerts until an expiry (maintenance, a known incident).

Created with ``driftd silence add``, listed and expired the same way; kept in the
store (SQLite embedded, Redis in production) so every daemon instance sees them.
A silenced alert still changes state and is logged; it is only not notified.
"""

from __future__ import annotations

import logging
import math
import time
import uuid

import msgspec

from driftd.alerts.matchers import matches
from driftd.alerts.outbox import Outbox

log = logging.getLogger("driftd.alerts")


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


# The longest silence: a mute that outlives a year is a deleted rule, not a silence.
MAX_SILENCE_SECONDS = 366 * 86400.0


def new_silence(
    matchers: dict[str, str], duration: float, created_by: str = "", comment: str = ""
) -> Silence:
    """A silence from now for ``duration`` seconds (a ValueError unless it is finite,
    positive and at most :data:`MAX_SILENCE_SECONDS`)."""
    if not (isinstance(duration, int | float) and 0 < duration <= MAX_SILENCE_SECONDS):
        raise ValueError(f"a silence lasts more than 0 s and at most 366 days, not {duration!r}")
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
    """Every valid silence in the store, active or not. A record that is not one (edited
    by hand, written by a buggy version) is skipped and logged: a bad silence must not
    take alerting down with it."""
    out = []
    for key, value in outbox.records("silences").items():
        try:
            silence = msgspec.convert(value, Silence)
        except (msgspec.ValidationError, TypeError) as exc:
            log.error("silence %r in the store is not a silence (%s); skipped", key, exc)
            continue
        if not (math.isfinite(silence.starts_at) and math.isfinite(silence.ends_at)):
            log.error("silence %r has no finite start and end; skipped", key)
            continue
        out.append(silence)
    return out


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
