"""Kafka/Redis settings: defaults, secrets from the environment, errors that name the key."""

from __future__ import annotations

import pytest

from driftd.config import ConfigError, load_config_data
from driftd.consumers.kafka.confluent import client_settings as confluent_settings
from driftd.consumers.kafka.kafkapython import client_settings as kafkapython_settings
from driftd.credentials import resolve_secret

MODELS = {"m": {"task": "binary", "features": {"x": "numeric"}}}


def test_defaults_make_a_working_local_setup():
    config = load_config_data({"models": MODELS})
    assert config.kafka.client == "confluent" and config.kafka.partitions == 6
    assert config.kafka.topics.predictions == "driftd.predictions"
    assert config.redis.url == "redis://127.0.0.1:6379/0"
    assert config.runtime.checkpoint_interval == 1.0
    assert config.registry.kind == "files"


@pytest.mark.parametrize(
    ("section", "problem_key"),
    [
        ({"kafka": {"partitions": 0}}, "kafka.partitions"),
        ({"kafka": {"client": "librdkafka"}}, "kafka.client"),
        ({"kafka": {"security": {"protocol": "SASL_SSL"}}}, "kafka.security.sasl_mechanism"),
        ({"kafka": {"sasl_password": "hunter2"}}, "kafka"),
        ({"redis": {"url": "http://x"}}, "redis.url"),
        ({"redis": {"url": "redis://:hunter2@cache:6379/0"}}, "redis.url"),
        ({"kafka": {"options": {"sasl.password": "hunter2"}}}, "kafka.options.sasl.password"),
        ({"runtime": {"max_dead_letter_ratio": 0}}, "runtime.max_dead_letter_ratio"),
        ({"runtime": {"checkpoint_interval": "soon"}}, "runtime.checkpoint_interval"),
        ({"registry": {"kind": "mlflow"}}, "registry.tracking_uri"),
        ({"registry": {"kind": "s3"}}, "registry.kind"),
        ({"registry": {"tracking_uri": "http://mlflow:5000"}}, "registry.tracking_uri"),
        ({"registry": {"kind": "mlflow", "tracking_uri": "http://u:pw@mlflow:5000"}},
         "registry.tracking_uri"),
    ],
)
def test_bad_service_settings_name_the_key(section, problem_key):
    with pytest.raises(ConfigError) as error:
        load_config_data({"models": MODELS, **section})
    assert error.value.path.startswith(problem_key), error.value


def test_secrets_come_from_the_environment_or_a_file(monkeypatch, tmp_path):
    monkeypatch.setenv("KAFKA_USER", "svc")
    secret_file = tmp_path / "password"
    secret_file.write_text("s3cret\n")
    monkeypatch.setenv("KAFKA_PASSWORD_FILE", str(secret_file))
    monkeypatch.delenv("KAFKA_PASSWORD", raising=False)
    assert resolve_secret("KAFKA_PASSWORD", "k") == "s3cret"
    config = load_config_data(
        {
            "models": MODELS,
            "kafka": {
                "security": {
                    "protocol": "SASL_SSL",
                    "sasl_mechanism": "SCRAM-SHA-512",
                    "sasl_username_env": "KAFKA_USER",
                    "sasl_password_env": "KAFKA_PASSWORD",
                    "ssl_cafile": "/etc/ca.pem",
                }
            },
        }
    )
    confluent = confluent_settings(config.kafka, "c")
    assert confluent["sasl.username"] == "svc" and confluent["sasl.password"] == "s3cret"
    assert confluent["security.protocol"] == "SASL_SSL"
    assert confluent["ssl.ca.location"] == "/etc/ca.pem"
    pure = kafkapython_settings(config.kafka, "c")
    assert pure["sasl_plain_username"] == "svc" and pure["sasl_plain_password"] == "s3cret"
    assert pure["ssl_cafile"] == "/etc/ca.pem"


def test_a_missing_secret_names_the_variable_and_the_key(monkeypatch):
    monkeypatch.delenv("NOPE", raising=False)
    monkeypatch.delenv("NOPE_FILE", raising=False)
    with pytest.raises(ConfigError) as error:
        resolve_secret("NOPE", "redis.password_env")
    assert error.value.path == "redis.password_env"
    assert "NOPE" in str(error.value) and "NOPE_FILE" in str(error.value)


def test_user_names_are_not_redacted_but_passwords_are(monkeypatch):
    from driftd.credentials import redact

    monkeypatch.setenv("DEMO_USER", "metricsbot")
    monkeypatch.setenv("DEMO_PASSWORD", "pw-0f9e8d7c")
    assert resolve_secret("DEMO_USER", "k", secret=False) == "metricsbot"
    assert resolve_secret("DEMO_PASSWORD", "k") == "pw-0f9e8d7c"
    assert redact("metricsbot:pw-0f9e8d7c") == "metricsbot:***"
