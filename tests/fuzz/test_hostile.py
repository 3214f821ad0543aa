"""Hostile inputs through the real pipeline: absurd sizes, nesting, numbers, clocks and
characters in events; secrets and typos in config files. Each is either used safely or
rejected with a reason, and the stream goes on."""

from __future__ import annotations

import json
import time

import pytest

from driftd.config import load_config
from driftd.consumers.deadletters import read_dead_letters
from driftd.daemon.embedded import build_pipeline, run_messages
from driftd.daemon.paths import DEAD_LETTER_FILE, state_dir
from driftd.errors import ConfigError

BASE = 1.8e9


def _prediction(i: int, **overrides) -> dict:
    event = {"type": "prediction", "event_id": f"e{i}", "model_id": "m1",
             "timestamp": BASE + i, "features": {"x": 0.5, "color": "red"}, "prediction": 1,
             "score": 0.7, "attributes": {"sex": "f"}}  # fmt: skip
    event.update(overrides)
    return event


HOSTILE: dict[str, tuple[bytes, str | None]] = {
    # name: (raw message, expected dead-letter reason or None when it is used)
    "10k features": (json.dumps(_prediction(1, features={
        **{f"junk{i}": i for i in range(10_000)}, "x": 1.0, "color": "blue"})).encode(), None),
    "1 MB string": (json.dumps(_prediction(2, features={"x": "a" * (1 << 20)})).encode(),
                    "oversized"),
    "deep nesting": (b'{"type": "prediction", "features": ' + b"[" * 100_000 + b"]" * 100_000
                     + b"}", "invalid_schema"),
    "NaN and infinities": (b'{"type": "prediction", "event_id": "e3", "model_id": "m1", '
                           b'"timestamp": 1800000003, "features": {"x": NaN, "color": Infinity}, '
                           b'"prediction": 1, "score": -Infinity}', None),
    "NaN timestamp": (b'{"type": "label", "event_id": "e4", "model_id": "m1", '
                      b'"timestamp": NaN, "label": 1}', "invalid_timestamp"),
    "year 10000": (json.dumps(_prediction(5, timestamp=3e11)).encode(), "invalid_timestamp"),
    "year 2100": (json.dumps(_prediction(10, timestamp="2100-01-01T00:00:00Z")).encode(),
                  "invalid_timestamp"),
    "before 1970": (json.dumps(_prediction(6, timestamp="1900-01-01T00:00:00Z")).encode(),
                    "invalid_timestamp"),
    "unicode and controls in ids": (json.dumps(_prediction(7, event_id="é\u0000\u202e\n\t🙂"))
                                    .encode(), None),
    "control chars in model id": (json.dumps(_prediction(8, model_id="m1\u0000")).encode(),
                                  "unknown_model"),
    "huge number": (json.dumps(_prediction(9, features={"x": 10**400})).encode(), None),
}  # fmt: skip


def test_hostile_events_are_used_safely_or_dead_lettered(binary_config_file):
    config = load_config(binary_config_file)
    config.runtime.max_event_bytes = 1 << 20
    pipeline = build_pipeline(config, fresh=True, quiet=True)
    messages = [(raw, name, i) for i, (name, (raw, _)) in enumerate(HOSTILE.items())]
    messages.append((json.dumps(_prediction(100)).encode(), "clean", 100))  # life goes on
    started = time.perf_counter()
    run_messages(pipeline, messages)
    assert time.perf_counter() - started < 10
    dead = {d.source: d for d in read_dead_letters(state_dir(config) / DEAD_LETTER_FILE)}
    for name, (_, reason) in HOSTILE.items():
        if reason is None:
            assert name not in dead, dead.get(name)
        else:
            assert dead[name].reason == reason and dead[name].detail, name
    used = sum(1 for _, reason in HOSTILE.values() if reason is None)
    assert pipeline.monitors["m1"].counts["predictions"] == used + 1
    readings = pipeline.monitors["m1"].readings(BASE + 200)
    assert readings["quality.x.missing_rate"] > 0  # the NaN counted as missing
    assert readings["quality.x.out_of_range_rate"] > 0  # 1e400 is infinite: out of range
    assert readings["quality.color.type_error_rate"] == 0  # Infinity as a category is text


@pytest.mark.parametrize(
    ("text", "key", "hint"),
    [
        ("redis: {url: 'redis://:hunter2@cache:6379/0'}", "redis.url", "password_env"),
        ("kafka: {options: {sasl.password: hunter2}}", "kafka.options", "env"),
        ("models: {m1: {task: binary, features: {x: numeric}, windws: {size: 5}}}",
         "models.m1", "windws"),
        ("runtime: {state_dir: s, evaluate_evry: 5}", "runtime", "evaluate_evry"),
        ("alerting: {receivers: {s: {type: slack, webhook_url: 'https://hooks.slack.com/x'}}}",
         "alerting.receivers", "webhook_url"),
    ],
)  # fmt: skip
def test_bad_configs_name_the_key_and_the_fix(tmp_path, text, key, hint):
    path = tmp_path / "driftd.yaml"
    models = (
        ""
        if text.startswith("models")
        else "models: {m1: {task: binary, features: {x: numeric}}}\n"
    )
    path.write_text(models + text + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert key in message and hint in message, message
    assert "hunter2" not in message  # the error never repeats the secret


def test_a_config_that_is_not_utf8_is_a_config_error(tmp_path):
    """Found by the coverage-guided fuzzer (atheris): a 0xff byte in a config file raised
    UnicodeDecodeError instead of a config error."""
    path = tmp_path / "driftd.yaml"
    path.write_bytes(b"runtime: {batch_size: 10}\xffkafka: {partitions: 4}\n")
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 25: b'\\xff'\)"):
        load_config(path)
