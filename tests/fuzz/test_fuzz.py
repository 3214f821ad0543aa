"""Fuzzing the three ways in: event bytes, config files, API requests (hypothesis).

The property everywhere: no crash, and every rejection says why. An event becomes a
typed event or a dead letter with a known reason and a detail; a config loads or
raises ConfigError naming a key path; an API request gets an answer below 500 with
an error message, never a traceback. (atheris, coverage-guided, is not used yet;
hypothesis drives the same properties from generated inputs.)
"""

from __future__ import annotations

import json
import math

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftd.config import load_config
from driftd.errors import ConfigError
from driftd.events import DeadLetter, EventDecoder, Label, Prediction

pytestmark = pytest.mark.slow

REASONS = {"oversized", "malformed_json", "invalid_schema", "invalid_timestamp",
           "unknown_model"}  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=5),
    max_leaves=30,
)  # fmt: skip
EVENTISH = st.fixed_dictionaries(
    {"type": st.sampled_from(["prediction", "label", "other", 3]),
     "event_id": st.text(max_size=30) | st.integers(),
     "model_id": st.sampled_from(["m1", "nope", ""]) | st.text(max_size=5),
     "timestamp": st.floats() | st.integers() | st.text(max_size=30)},
    optional={"prediction": JSON, "label": JSON, "features": JSON, "attributes": JSON,
              "score": JSON, "model_version": JSON, "latency_ms": JSON},
)  # fmt: skip
decoder = EventDecoder({"m1"}, 4096)
FIXTURES = [HealthCheck.function_scoped_fixture]


def _check(result) -> None:
    if isinstance(result, DeadLetter):
        assert result.reason in REASONS and result.detail
    else:
        assert isinstance(result, Prediction | Label)
        assert result.model_id == "m1" and math.isfinite(result.timestamp)


@settings(max_examples=800, deadline=None)
@given(st.binary(max_size=5000))
def test_decoder_on_random_bytes(raw):
    _check(decoder.decode(raw, "fuzz", 0))


@settings(max_examples=800, deadline=None)
@given(EVENTISH)
def test_decoder_on_event_shaped_json(event):
    raw = json.dumps(event).encode()  # NaN/Infinity as Python writes them included
    _check(decoder.decode(raw, "fuzz", 0))


KEYS = ["models", "runtime", "kafka", "redis", "http", "alerting", "notifiers", "bogus"]
MODEL = st.fixed_dictionaries(
    {"task": st.sampled_from(["binary", "multiclass", "regression", "other"]) | JSON},
    optional={"features": st.dictionaries(st.text(max_size=5), st.sampled_from(
        ["numeric", "categorical", "x"]) | JSON, max_size=3), "windows": JSON, "drift": JSON,
        "join": JSON, "rules": JSON, "classes": JSON, "positive_class": JSON, "retrain": JSON},
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=FIXTURES)
@given(st.dictionaries(st.sampled_from(KEYS), JSON, max_size=4),
       st.dictionaries(st.text(min_size=1, max_size=5), MODEL, max_size=2))  # fmt: skip
def test_config_loader_names_the_key_or_loads(tmp_path, top, models):
    if models:
        top = {**top, "models": models}
    path = tmp_path / "driftd.yaml"
    path.write_text(yaml.safe_dump(top))
    try:
        load_config(path)
    except ConfigError as exc:
        assert str(exc) and (exc.path or exc.problem)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from driftd.cli.serve import build_view
    from driftd.daemon.web.api import Actions
    from driftd.daemon.web.server import StatusServer

    work = tmp_path_factory.mktemp("api")
    config = work / "driftd.yaml"
    config.write_text(
        "models:\n  m1:\n    task: binary\n    features: {x: numeric}\n"
        f"runtime:\n  state_dir: {work / 'state'}\n"
        "alerting:\n  receivers: {log: {type: console}}\n  routes: [{name: r, receivers: [log]}]\n"
    )
    view = build_view(load_config(config), use_redis=False)
    server = StatusServer(view, "127.0.0.1", 0, "FUZZ_TOKEN", actions=Actions(view)).start()
    yield server
    server.stop()


PATHS = ["/api/silences", "/api/silences", "/api/models/m1/promote", "/api/models/m1/rollback",
         "/api/models/m1/retrain", "/api/models/zz/promote", "/api/x", "/"]  # fmt: skip


BODIES = st.fixed_dictionaries(
    {}, optional={"matchers": JSON, "duration": JSON, "version": JSON, "reason": JSON,
                  "comment": JSON, "created_by": JSON},
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=FIXTURES)
@given(st.sampled_from(PATHS), st.binary(max_size=300)
       | (JSON | BODIES).map(lambda v: json.dumps(v).encode()))  # fmt: skip
def test_api_posts_answer_below_500_with_a_reason(api, monkeypatch, path, body):
    import urllib.error
    import urllib.request

    monkeypatch.setenv("FUZZ_TOKEN", "t0k3n-fuzz")
    request = urllib.request.Request(f"http://127.0.0.1:{api.port}{path}", data=body,
                                     method="POST",
                                     headers={"Authorization": "Bearer t0k3n-fuzz"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, answer = exc.code, exc.read()
    assert status < 500, (path, body, answer)
    if status >= 400:
        assert json.loads(answer)["error"]


@settings(max_examples=200, deadline=None, suppress_health_check=FIXTURES)
@given(st.sampled_from(["/api/models/m1/history", "/api/models/m1", "/api/alerts", "/readyz",
                        "/models/m1", "/static/x", "/api/models/m1/runs"]),
       st.dictionaries(st.sampled_from(["metric", "limit", "x"]), st.text(max_size=8)))  # fmt: skip
def test_api_gets_answer_below_500(api, path, query):
    import urllib.error
    import urllib.parse
    import urllib.request

    url = f"http://127.0.0.1:{api.port}{path}?{urllib.parse.urlencode(query)}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    assert status < 500, (path, query)
