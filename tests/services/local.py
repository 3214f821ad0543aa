"""The test tooling's Kafka and Redis: driftd's own local provisioner (driftd/dev/services.py,
also behind `driftd dev services up|down`), re-exported for the fixtures."""

from driftd.dev.services import (  # noqa: F401
    KAFKA_VERSION,
    LocalKafka,
    LocalRedis,
    free_port,
    kafka_jars,
    wait_for_port,
)
