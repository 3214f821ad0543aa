"""Event schema v1 (a contract) and its typed decoder.

Production apps send two kinds of JSON objects: a ``prediction`` when the model
answers and, possibly days later, a ``label`` with the ground truth for the same
``event_id``. Their Structs are the SDK's (driftd_sdk.events: apps and the daemon share
one definition); they are decoded straight into them by msgspec, which validates and
converts in one pass (about 5x faster than ``json.loads`` plus hand checks).

Decoding never raises: an input that is not a valid event comes back as a
:class:`DeadLetter` carrying the original bytes and the reason, so the pipeline
can keep it (dead-letter file or topic) and move on.
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
from datetime import UTC, datetime

import msgspec
from driftd_sdk.events import Event, Label, Prediction, Scalar, encode

__all__ = ["DeadLetter", "Event", "EventDecoder", "Label", "Prediction", "Scalar", "encode"]


class DeadLetter(msgspec.Struct, kw_only=True):
    """An input that could not be processed, kept with why and where it came from."""

    reason: str
    detail: str
    source: str
    offset: int | None = None
    received_at: float = 0.0
    raw: str | None = None
    raw_b64: str | None = None

    @classmethod
    def of(
        cls, raw: bytes, reason: str, detail: str, source: str, offset: int | None
    ) -> DeadLetter:
        """Build a dead letter, keeping the raw bytes readable when they are UTF-8."""
        try:
            text: str | None = raw.decode("utf-8")
            b64 = None
        except UnicodeDecodeError:
            text, b64 = None, base64.b64encode(raw).decode("ascii")
        return cls(
            reason=reason,
            detail=detail,
            source=source,
            offset=offset,
            received_at=time.time(),
            raw=text,
            raw_b64=b64,
        )

    def original_bytes(self) -> bytes:
        """The exact bytes that were received."""
        if self.raw_b64 is not None:
            return base64.b64decode(self.raw_b64)
        return (self.raw or "").encode("utf-8")


# Reasons are stable identifiers: they are metric labels and what operators grep for.
REASON_OVERSIZED = "oversized"
REASON_MALFORMED = "malformed_json"
REASON_SCHEMA = "invalid_schema"
REASON_TIMESTAMP = "invalid_timestamp"
REASON_UNKNOWN_MODEL = "unknown_model"
REASON_DUPLICATE = "duplicate_event_id"

# An attribute value names a group: it becomes part of reading names, alert labels and
# state, so a 40 KB value would cost megabytes per event. Longer ones are dead letters.
MAX_ATTRIBUTE_CHARS = 256

_MIN_EPOCH = 0.0
_MAX_EPOCH = 253402300799.0  # 9999-12-31T23:59:59Z
MAX_FUTURE_SECONDS = 366 * 86400.0
# RFC 3339 date-time, a space allowed for the T, seconds and offset optional (without an
# offset: UTC). The event JSON Schema (the SDK's schemas/event-v1.schema.json) has the
# same pattern (a test holds them equal); Python's fromisoformat alone also takes ISO
# 8601 forms producers in other languages cannot parse (week dates, basic format).
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})?$"
)
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN)


def parse_timestamp(value: float | str) -> float:
    """Turn an RFC 3339 string or epoch seconds into epoch seconds (UTC).

    Raises ValueError with a readable message for anything else, for times before
    1970 or after 9999, and for times more than a year ahead of the wall clock: the
    stream clock is the newest event time, so one event from a broken clock far in
    the future would otherwise expire every waiting join and end every window.
    """
    if isinstance(value, str):
        try:
            if not _TIMESTAMP.fullmatch(value):  # not .match: "$" passes a final newline
                raise ValueError
            parsed = datetime.fromisoformat(value.replace(",", ".").upper())
        except ValueError:
            raise ValueError(f"timestamp {value[:64]!r} is not RFC 3339") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        seconds = parsed.timestamp()
    else:
        seconds = float(value)
    if not math.isfinite(seconds) or not _MIN_EPOCH <= seconds <= _MAX_EPOCH:
        raise ValueError(f"timestamp {str(value)[:64]!r} is outside 1970..9999")
    if seconds > time.time() + MAX_FUTURE_SECONDS:
        days = (seconds - time.time()) / 86400
        raise ValueError(f"timestamp {str(value)[:64]!r} is {days:,.0f} days in the future")
    return seconds


def format_timestamp(seconds: float) -> str:
    """Epoch seconds as an RFC 3339 UTC string (what summaries and alerts show)."""
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat().replace("+00:00", "Z")


class EventDecoder:
    """Bytes in, a typed event (with epoch-seconds timestamp) or a DeadLetter out."""

    def __init__(self, known_models: set[str] | None = None, max_bytes: int = 1 << 20):
        self._decoder = msgspec.json.Decoder(Event)
        self._known_models = known_models
        self._max_bytes = max_bytes

    def decode(self, raw: bytes, source: str = "", offset: int | None = None) -> Event | DeadLetter:
        if len(raw) > self._max_bytes:
            detail = f"event is {len(raw)} bytes, the limit is {self._max_bytes}"
            return DeadLetter.of(raw, REASON_OVERSIZED, detail, source, offset)
        try:
            event = self._decoder.decode(raw)
        except msgspec.ValidationError as exc:
            if not str(exc).startswith("Number out of range"):
                return DeadLetter.of(raw, REASON_SCHEMA, str(exc), source, offset)
            event = self._decode_lenient(raw, source, offset, str(exc))
        except msgspec.DecodeError as exc:
            event = self._decode_lenient(raw, source, offset, str(exc))
        if isinstance(event, DeadLetter):
            return event
        try:
            event.timestamp = parse_timestamp(event.timestamp)
        except ValueError as exc:
            return DeadLetter.of(raw, REASON_TIMESTAMP, str(exc), source, offset)
        if isinstance(event, Prediction) and isinstance(event.model_version, float):
            if not event.model_version.is_integer():
                detail = f"model_version {event.model_version!r} is not a string or an integer"
                return DeadLetter.of(raw, REASON_SCHEMA, detail, source, offset)
            event.model_version = int(event.model_version)
        if isinstance(event, Prediction) and event.shadow and event.model_version is None:
            detail = "a shadow prediction must name the challenger's model_version"
            return DeadLetter.of(raw, REASON_SCHEMA, detail, source, offset)
        if self._known_models is not None and event.model_id not in self._known_models:
            detail = f"model_id {event.model_id[:128]!r} is not in the config"
            return DeadLetter.of(raw, REASON_UNKNOWN_MODEL, detail, source, offset)
        for name, value in (event.attributes if isinstance(event, Prediction) else {}).items():
            if isinstance(value, str) and len(value) > MAX_ATTRIBUTE_CHARS:
                detail = (f"attribute {name[:64]!r} is {len(value):,} characters long; "
                          f"at most {MAX_ATTRIBUTE_CHARS}")  # fmt: skip
                return DeadLetter.of(raw, REASON_SCHEMA, detail, source, offset)
        return event

    @staticmethod
    def _decode_lenient(
        raw: bytes, source: str, offset: int | None, error: str
    ) -> Event | DeadLetter:
        """Slow path for what Python's json module writes but strict JSON forbids.

        ``json.dumps(float("nan"))`` gives ``NaN``; apps that send it mean "missing",
        and ``1e999`` means infinity. Such events are decoded by the standard library
        and validated by msgspec; their NaNs then count as missing values in data
        quality instead of losing the whole event.
        """
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            return DeadLetter.of(raw, REASON_MALFORMED, error, source, offset)
        try:
            return msgspec.convert(data, Event)
        except msgspec.ValidationError as exc:
            return DeadLetter.of(raw, REASON_SCHEMA, str(exc), source, offset)
