"""The event JSON Schema (driftd/schemas/event-v1.schema.json) and the decoder agree.

Both ways on fuzzed objects: what the schema accepts the decoder accepts, and the
reverse. What a schema cannot say is stated and checked apart, with dateutil (not
driftd's parser) as its oracle: a timestamp string must be a real calendar time (no
February 30th, offsets under 24 h) between 1970 and 9999 and at most a year ahead.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import driftd_sdk
import pytest
from dateutil.parser import isoparse
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from driftd.events import MAX_ATTRIBUTE_CHARS, TIMESTAMP_PATTERN, DeadLetter, EventDecoder

SCHEMA_FILE = Path(driftd_sdk.SCHEMA_FILE)
SCHEMA = json.loads(SCHEMA_FILE.read_text())
VALIDATOR = Draft202012Validator(SCHEMA)
README = Path(__file__).resolve().parents[2] / "README.md"


def schema_accepts(event: object) -> bool:
    return VALIDATOR.is_valid(event)


def decoder_accepts(event: object) -> bool:
    return not isinstance(EventDecoder().decode(json.dumps(event).encode()), DeadLetter)


def time_is_real(event: object) -> bool:
    """What the schema cannot say about a timestamp, by dateutil's parser."""
    if not isinstance(event, dict):
        return True
    value = event.get("timestamp")
    if isinstance(value, str) and re.match(TIMESTAMP_PATTERN, value):
        try:
            parsed = isoparse(value.replace(" ", "T").replace(",", ".").upper())
        except (ValueError, OverflowError):
            return False
        seconds = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value
    else:
        return True
    return 0 <= seconds <= 253402300799 and seconds <= time.time() + 366 * 86400


def test_the_schema_is_valid_and_shares_the_decoders_timestamp_pattern():
    Draft202012Validator.check_schema(SCHEMA)
    pattern = SCHEMA["$defs"]["timestamp"]["oneOf"][1]["pattern"]
    assert pattern == TIMESTAMP_PATTERN
    attributes = SCHEMA["$defs"]["prediction"]["properties"]["attributes"]
    assert attributes["additionalProperties"]["maxLength"] == MAX_ATTRIBUTE_CHARS


def readme_examples() -> list[dict]:
    section = README.read_text().split("## Event schema v1")[1].split("\n## ")[0]
    block = section.split("```json\n")[1].split("```")[0]
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(block.strip()):
        event, at = decoder.raw_decode(block, at)
        found.append(event)
        while at < len(block) and block[at].isspace():
            at += 1
    return found


def test_every_readme_example_passes_both():
    examples = readme_examples()
    assert [e["type"] for e in examples] == ["prediction", "label"]
    for event in examples:
        assert schema_accepts(event) and decoder_accepts(event), event


def _times():
    stamp = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2026, 1, 1))
    offsets = st.sampled_from(["", "Z", "z", "+00:00", "-05:30", "+13:45"])
    return st.one_of(
        st.floats(0, 1.7e9), st.integers(0, 1_700_000_000),
        st.builds(lambda t, sep, fraction, offset: t.strftime(f"%Y-%m-%d{sep}%H:%M")
                  + (f":{t:%S}" + fraction if fraction is not None else "") + offset,
                  stamp, st.sampled_from("Tt "), st.one_of(st.none(), st.just(""),
                  st.from_regex(r"[.,][0-9]{1,9}", fullmatch=True)), offsets),
    )  # fmt: skip


_scalars = st.one_of(st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
                     st.text(max_size=6))  # fmt: skip
_anything = st.recursive(st.one_of(st.none(), _scalars),
                         lambda inner: st.lists(inner, max_size=2)
                         | st.dictionaries(st.text(max_size=3), inner, max_size=2),
                         max_leaves=4)  # fmt: skip


@st.composite
def valid_events(draw):
    """Events the schema accepts, field by field from its definitions."""
    kind = draw(st.sampled_from(["prediction", "label"]))
    event = {"type": kind, "event_id": draw(st.text(max_size=8)),
             "model_id": draw(st.text(max_size=8)), "timestamp": draw(_times())}  # fmt: skip
    if kind == "label":
        event["label"] = draw(_scalars)
        return event
    event["prediction"] = draw(_scalars)
    optional = {
        "features": st.dictionaries(st.text(max_size=4), _anything, max_size=3),
        "model_version": st.one_of(st.none(), st.text(max_size=3), st.integers(), st.just(3.0)),
        "score": st.one_of(st.none(), st.floats(allow_nan=False),
                           st.dictionaries(st.text(max_size=3), st.floats(allow_nan=False),
                                           max_size=3)),
        "attributes": st.dictionaries(st.text(max_size=4), st.one_of(
            _anything, st.text(min_size=200, max_size=MAX_ATTRIBUTE_CHARS)), max_size=3),
        "latency_ms": st.one_of(st.none(), st.floats(allow_nan=False)),
        "unknown": _anything,
    }  # fmt: skip
    for field, values in optional.items():
        if draw(st.booleans()):
            event[field] = draw(values)
    return event


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_events())
def test_what_the_schema_accepts_the_decoder_accepts(event):
    assert schema_accepts(event), event  # the strategy follows the schema
    assert decoder_accepts(event), event


def _value():
    return st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False), st.text(max_size=5),
        st.text(min_size=250, max_size=300),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.floats(allow_nan=False), max_size=2),
        st.sampled_from(["2026-11-22T10:00:00Z", "2026-11-22 10:00", "2026-11-22",
                         "2026-W47-1", "2026-02-30T00:00:00Z", "1969-12-31T23:59:59Z",
                         "2026-11-22T10:00:00+24:00", "9999-12-31T23:59:59Z"]),
        st.sampled_from([0, -1, 1.7e9, 253402300800, 3.0, 3.5]),
    )  # fmt: skip


FIELDS = ["event_id", "model_id", "timestamp", "prediction", "label", "features",
          "model_version", "score", "attributes", "latency_ms", "extra"]  # fmt: skip


@st.composite
def near_events(draw):
    """Objects around the schema: right and wrong types, missing and unknown fields."""
    kind = draw(st.sampled_from(["prediction", "label", "other", None]))
    event = {} if kind is None else {"type": kind}
    for field in FIELDS:
        if draw(st.integers(0, 3)) == 0:
            continue  # missing
        if field in ("event_id", "model_id") and draw(st.booleans()):
            event[field] = draw(st.text(max_size=8))
        elif field == "attributes" and draw(st.booleans()):
            event[field] = draw(st.dictionaries(st.text(max_size=3), _value(), max_size=3))
        elif field == "score" and draw(st.booleans()):
            event[field] = draw(st.dictionaries(st.text(max_size=3), _value(), max_size=2))
        else:
            event[field] = draw(_value())
    return event


@st.composite
def mutated_events(draw):
    """A valid event with one field removed, retyped or added, or left as it is."""
    event = draw(valid_events())
    field = draw(st.sampled_from(["type", *FIELDS]))
    action = draw(st.sampled_from(["keep", "remove", "retype"]))
    if action == "remove":
        event.pop(field, None)
    elif action == "retype":
        event[field] = draw(_value())
    return event


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(near_events(), mutated_events()))
def test_the_decoder_and_the_schema_agree_both_ways(event):
    assume(time_is_real(event))
    assert schema_accepts(event) == decoder_accepts(event), event


@pytest.mark.parametrize("value", ["2026-W47-1", "2026-11-22", "20261122T100000Z"])
def test_iso_8601_forms_outside_rfc_3339_are_refused_by_both(value):
    event = {"type": "label", "event_id": "a", "model_id": "m", "timestamp": value, "label": 1}
    assert not schema_accepts(event) and not decoder_accepts(event)
