"""The app-side API, now the separate ``driftd-sdk`` distribution (import ``driftd_sdk``).

Apps install only ``pip install driftd-sdk`` (msgspec and one Kafka client) and import
``driftd_sdk``; this module keeps ``from driftd.sdk import Publisher`` working for code
written against driftd 0.9 and earlier.
"""

from driftd_sdk import ModelClient, Publisher, PublisherStats, Topics, Transport

__all__ = ["ModelClient", "Publisher", "PublisherStats", "Topics", "Transport"]
