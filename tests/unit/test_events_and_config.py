"""Event decoding (dead letters with reasons) and config validation (key paths)."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftd.config import ConfigError, load_config, load_config_data
from driftd.events import DeadLetter, EventDecoder, Label, Prediction

VALID = (
    b'{"type":"prediction","event_id":"a1","model_id":"m1","model_version":"3",'
    b'"timestamp":"2026-11-22T10:00:00Z","features":{"x":1.5,"color":"red"},'
    b'"prediction":1,"score":0.83,"attributes":{"sex":"f"},"extra":"kept but ignored"}'
)


def test_valid_prediction_and_label():
    decoder = EventDecoder({"m1"})
    event = decoder.decode(VALID)
    assert isinstance(event, Prediction)
    assert event.timestamp == 1795341600.0 and event.score == 0.83
    label = decoder.decode(
        b'{"type":"label","event_id":"a1","model_id":"m1","timestamp":1795341600,"label":0}'
    )
    assert isinstance(label, Label) and label.label == 0


@pytest.mark.parametrize(
    ("raw", "reason", "needle"),
    [
        (VALID[:40], "malformed_json", "truncated"),
        (b"\xff\xfe not json", "malformed_json", ""),
        (VALID.replace(b'"event_id":"a1",', b""), "invalid_schema", "event_id"),
        (VALID.replace(b'"event_id":"a1"', b'"event_id":7'), "invalid_schema", "$.event_id"),
        (VALID.replace(b'"m1"', b'"nope"'), "unknown_model", "nope"),
        (VALID.replace(b"2026-11-22T10:00:00Z", b"yesterday"), "invalid_timestamp", "RFC 3339"),
        (VALID.replace(b'"prediction"', b'"verdict"', 1), "invalid_schema", "type"),
        (b"[1,2,3]", "invalid_schema", "object"),
    ],
)
def test_invalid_events_become_dead_letters_with_reason(raw, reason, needle):
    letter = EventDecoder({"m1"}).decode(raw, source="test", offset=3)
    assert isinstance(letter, DeadLetter)
    assert letter.reason == reason and needle in letter.detail
    assert letter.original_bytes() == raw and letter.offset == 3


def test_oversized_event_is_dead_lettered_before_parsing():
    letter = EventDecoder({"m1"}, max_bytes=100).decode(VALID)
    assert isinstance(letter, DeadLetter) and letter.reason == "oversized"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_decoder_never_raises(raw):
    result = EventDecoder({"m1"}).decode(raw)
    assert isinstance(result, Prediction | Label | DeadLetter)
    if isinstance(result, DeadLetter):
        assert result.reason and result.detail


def test_minimal_config_gets_defaults(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("models:\n  m1:\n    task: binary\n    features: {x: numeric}\n")
    config = load_config(path)
    model = config.models["m1"]
    assert model.classes == [0, 1] and model.positive_class == 1
    assert model.windows.size == 1000 and model.join.ttl == 7 * 86400
    assert [n.type for n in config.notifiers] == ["console", "jsonl"]


@pytest.mark.parametrize(
    ("data", "path", "problem"),
    [
        (
            {
                "models": {
                    "m1": {
                        "task": "binary",
                        "features": {"x": "numeric"},
                        "windows": {"size": "big"},
                    }
                }
            },
            "models.m1.windows.size",
            "int",
        ),
        (
            {"models": {"m1": {"task": "binary", "features": {"x": "numeric"}, "colour": 1}}},
            "models.m1.colour",
            "unknown key",
        ),
        (
            {"models": {"m1": {"task": "ternary", "features": {"x": "numeric"}}}},
            "models.m1.task",
            "ternary",
        ),
        (
            {"models": {"m1": {"task": "multiclass", "features": {"x": "numeric"}}}},
            "models.m1.classes",
            "list",
        ),
        (
            {
                "models": {
                    "m1": {"task": "binary", "features": {"x": "numeric"}, "join": {"ttl": "soon"}}
                }
            },
            "models.m1.join.ttl",
            "duration",
        ),
        (
            {
                "models": {
                    "m1": {
                        "task": "binary",
                        "features": {"x": "numeric"},
                        "reference": "missing.csv",
                    }
                }
            },
            "models.m1.reference.path",
            "does not exist",
        ),
        (
            {
                "models": {
                    "m1": {"task": "binary", "features": {"x": "numeric"}, "windows": {"size": 1}}
                }
            },
            "models.m1.windows.size",
            "at least 2",
        ),
        ({"models": {}}, "models", "at least one"),
        (
            {"models": {"m1": {"task": "binary", "features": {"x": "numeric"},
                               "false_alarm_budget": "rarely"}}},
            "models.m1.false_alarm_budget",
            "not a false-alarm budget",
        ),
        (
            {"models": {"m1": {"task": "binary", "features": {"x": "numeric"}}},
             "alerting": {"false_alarm_budget": "1 per 10 events"}},
            "alerting.false_alarm_budget",
            "at least 1000",
        ),
        (
            {"models": {"m1": {"task": "binary", "features": {"x": "numeric"},
                               "drift": {"significance": 5}}}},
            "models.m1.drift.significance",
            "between 0 and 1",
        ),
    ],
)
def test_config_errors_name_the_key_path(tmp_path, data, path, problem):
    with pytest.raises(ConfigError) as info:
        load_config_data(data, tmp_path)
    assert info.value.path == path
    assert problem in str(info.value)


def test_cli_config_check(binary_config_file, capsys):
    from driftd.cli import main

    assert main(["config", "check", str(binary_config_file)]) == 0
    assert "OK" in capsys.readouterr().out
    bad = binary_config_file.parent / "bad.yaml"
    bad.write_text(
        "models:\n  m1:\n    task: binary\n    features: {x: numeric}\n"
        "    rules: [{metric: accuracy, op: '<<', threshold: 1}]\n"
    )
    assert main(["config", "check", str(bad)]) == 2
    assert "models.m1.rules[0].op" in capsys.readouterr().err


def test_dead_letter_round_trip():
    letter = DeadLetter.of(b"\x00\xffbinary", "malformed_json", "x", "s", 1)
    again = msgspec.json.decode(msgspec.json.encode(letter), type=DeadLetter)
    assert again.original_bytes() == b"\x00\xffbinary"


def test_python_json_nan_and_infinity_are_decoded_not_dead_lettered():
    raw = (
        b'{"type":"prediction","event_id":"n1","model_id":"m1","timestamp":1,"prediction":1,'
        b'"features":{"x":NaN,"y":Infinity,"z":1e999}}'
    )
    event = EventDecoder({"m1"}).decode(raw)
    assert isinstance(event, Prediction)
    assert event.features["x"] != event.features["x"] and event.features["z"] == float("inf")
    deep = EventDecoder({"m1"}).decode(b"[" * 100_000)
    assert isinstance(deep, DeadLetter) and deep.reason in {"invalid_schema", "malformed_json"}


def test_parquet_reference_loads_like_csv(tmp_path, reference_csv):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from driftd.reference import load_reference

    pq.write_table(pacsv.read_csv(reference_csv), tmp_path / "reference.parquet")
    results = []
    for name in ("reference.csv", "reference.parquet"):
        model = {
            "task": "binary",
            "reference": name,
            "sensitive_attributes": ["sex"],
            "features": {"x": "numeric", "color": "categorical"},
        }
        data = {"models": {"m1": model}}
        config = load_config_data(data, tmp_path)
        results.append(load_reference("m1", config.models["m1"]))
    csv_ref, parquet_ref = results
    assert csv_ref.n_rows == parquet_ref.n_rows == 2000
    for column in ("x", "score"):
        assert (csv_ref.columns[column] == parquet_ref.columns[column]).all()
    for column in ("color", "label", "prediction", "sex"):
        assert list(csv_ref.columns[column]) == list(parquet_ref.columns[column])
        # One string object per distinct text: the kept columns live as long as the model.
        for ref in results:
            texts = ref.columns[column]
            assert len({id(t) for t in texts}) == len(set(texts)) < 20


def test_every_config_problem_at_once_with_valid_values_and_a_suggestion(tmp_path):
    data = {
        "models": {"m": {"task": "binry", "features": {"age": "float"}, "refrence": "r.csv",
                         "windows": {"size": "big"}}},
        "alerting": {"receivers": {"oncall": {"type": "slak", "webhook_url_env": "X"}}},
        "kafka": {"partitons": 3},
    }  # fmt: skip
    with pytest.raises(ConfigError) as info:
        load_config_data(data, tmp_path)
    text = str(info.value)
    expected = [
        "models.m.task: 'binry' is not one of 'binary', 'multiclass', 'regression'; "
        "did you mean 'binary'?",
        "models.m.features.age: 'float' is not one of",
        "models.m.refrence: unknown key; did you mean 'reference'?",
        "models.m.windows.size: expected int, got str",
        "alerting.receivers.oncall.type: 'slak' is not one of 'slack'",
        "kafka.partitons: unknown key; did you mean 'partitions'?",
    ]
    for line in expected:
        assert line in text, text
    assert text.startswith("6 problems:")


def test_alerts_link_to_http_public_url(tmp_path):
    base = {"models": {"m": {"task": "binary", "features": {"x": "numeric"}}}}
    config = load_config_data({**base, "http": {"public_url": "https://driftd.example"}},
                              tmp_path)  # fmt: skip
    assert config.alerting.dashboard_url == "https://driftd.example"
    assert load_config_data(base, tmp_path).alerting.dashboard_url == "http://127.0.0.1:8080"
    with pytest.raises(ConfigError) as info:
        load_config_data({**base, "http": {"public_url": "driftd.example"}}, tmp_path)
    assert info.value.path == "http.public_url"
