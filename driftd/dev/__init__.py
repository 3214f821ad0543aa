"""Tools for developers and for trying driftd: local Kafka and Redis without Docker."""
