"""Settings both Kafka clients share: driftd's security section under each client's
own setting names, secrets read from the environment."""

from __future__ import annotations

from typing import Any

from driftd.config.services import KafkaSpec
from driftd.credentials import resolve_secret


def security_settings(spec: KafkaSpec, names: dict[str, str]) -> dict[str, Any]:
    """driftd's security settings under a client's own names, secrets read from the env.

    ``names`` maps protocol, mechanism, username, password, cafile, certfile, keyfile
    to the client's setting names.
    """
    security = spec.security
    settings: dict[str, Any] = {names["protocol"]: security.protocol}
    if security.sasl_mechanism:
        settings[names["mechanism"]] = security.sasl_mechanism
        settings[names["username"]] = resolve_secret(
            security.sasl_username_env, "kafka.security.sasl_username_env", secret=False
        )
        settings[names["password"]] = resolve_secret(
            security.sasl_password_env, "kafka.security.sasl_password_env"
        )
    for kind in ("cafile", "certfile", "keyfile"):
        value = getattr(security, f"ssl_{kind}")
        if value:
            settings[names[kind]] = value
    return settings
