"""driftd's SDK for apps: publish predictions and labels, serve the registry's champion.

    pip install driftd-sdk                  # msgspec + kafka-python, a few MB
    pip install driftd-sdk[confluent]       # confluent-kafka (librdkafka) instead
    pip install driftd-sdk[model-client]    # ModelClient: skops, to load models safely
    pip install driftd-sdk[mlflow]          # ModelClient reading MLflow's model registry

    from driftd_sdk import Publisher

    publisher = Publisher.kafka("broker:9092")
    event_id = publisher.publish_prediction("credit-risk", features, prediction=1, score=0.83)
    ...                                                 # days later, elsewhere
    publisher.publish_label("credit-risk", event_id, label=0)

The daemon (``pip install driftd``) depends on this package and speaks the same event
schema, whose JSON Schema is :func:`event_schema` for producers in other languages.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from driftd_sdk.events import Event, Label, Prediction, Scalar, encode
from driftd_sdk.publisher import Publisher, PublisherStats, Topics, Transport

if TYPE_CHECKING:
    from driftd_sdk.model_client import ModelClient

__version__ = "0.9.0"

# A file beside this module (the wheel installs it unzipped). A str, not a Path: every
# import here is paid by every app at start-up (importlib.resources alone would double
# the SDK's import time, pathlib and json add a fifth).
SCHEMA_FILE = os.path.join(os.path.dirname(__file__), "schemas", "event-v1.schema.json")


def __getattr__(name: str) -> Any:
    """``ModelClient`` on first use: apps that only publish never import it."""
    if name == "ModelClient":
        from driftd_sdk.model_client import ModelClient

        return ModelClient
    raise AttributeError(f"module 'driftd_sdk' has no attribute {name!r}")


def event_schema() -> dict[str, Any]:
    """The event schema v1 as a JSON Schema (draft 2020-12) document."""
    import json

    with open(SCHEMA_FILE, encoding="utf-8") as handle:
        return json.load(handle)


__all__ = [
    "SCHEMA_FILE",
    "Event",
    "Label",
    "ModelClient",
    "Prediction",
    "Publisher",
    "PublisherStats",
    "Scalar",
    "Topics",
    "Transport",
    "encode",
    "event_schema",
]
