"""Event schema v1, the contract between apps and driftd: what a prediction and a label are.

Apps build these and publish them as JSON; driftd decodes the same Structs (its
decoder adds the checks a producer cannot be trusted with: timestamps, sizes, known
models). The JSON Schema of the same contract, for producers in other languages, is
:func:`driftd_sdk.event_schema` (``driftd_sdk/schemas/event-v1.schema.json``).
"""

from __future__ import annotations

from typing import Any

import msgspec

Scalar = bool | int | float | str


class Prediction(msgspec.Struct, kw_only=True, tag="prediction", tag_field="type"):
    """A model's answer, published by the app when it serves a request."""

    event_id: str
    model_id: str
    timestamp: float | str  # epoch seconds or RFC 3339
    prediction: Scalar
    features: dict[str, Any] = {}
    model_version: str | int | float | None = None  # an integral float is an int (3.0)
    score: float | dict[str, float] | None = None
    attributes: dict[str, Any] = {}
    latency_ms: float | None = None
    # A challenger's prediction for the same request (same event_id) during a live
    # shadow trial: monitored as that version's, never as the model's own traffic.
    shadow: bool = False


class Label(msgspec.Struct, kw_only=True, tag="label", tag_field="type"):
    """The ground truth for an earlier (or, out of order, a later) prediction."""

    event_id: str
    model_id: str
    timestamp: float | str
    label: Scalar


Event = Prediction | Label

_encoder = msgspec.json.Encoder()


def encode(event: msgspec.Struct) -> bytes:
    """Serialise an event as one JSON object (its ``type`` tag included)."""
    return _encoder.encode(event)
