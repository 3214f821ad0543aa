"""The HTTP API against its OpenAPI document (driftd/daemon/web/openapi.json), by
schemathesis: every operation is called with generated parameters and bodies (with and
without the bearer token), and each answer must be documented (status code, content
type, body schema) and never a server error. The server runs over a real demo state."""

from __future__ import annotations

import json
import urllib.request

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from testdata import run_demo

from driftd.cli.serve import build_view
from driftd.config import load_config
from driftd.daemon.web.api import Actions
from driftd.daemon.web.server import StatusServer, openapi

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
TOKEN = "openapi-test-token-123"
EXAMPLES = 60  # generated calls per operation and caller (a fixed set: derandomized)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    config = load_config(run_demo(tmp_path_factory.mktemp("demo") / "state"))
    view = build_view(config, use_redis=False)
    mp = pytest.MonkeyPatch()
    mp.setenv("DRIFTD_OPENAPI_TOKEN", TOKEN)
    server = StatusServer(view, "127.0.0.1", 0, "DRIFTD_OPENAPI_TOKEN", actions=Actions(view))
    yield server.start()
    server.stop()
    mp.undo()


@pytest.fixture(scope="module")
def api(server):
    document = openapi()
    # The demo's model, so that generated calls reach the real handlers too.
    document["components"]["parameters"]["Model"]["schema"]["examples"] = ["credit-risk"]
    loaded = schemathesis.openapi.from_dict(document)
    loaded.config.update(base_url=f"http://127.0.0.1:{server.port}")
    return loaded


def _check_every_operation(api, headers: dict[str, str]) -> int:
    """Each operation with generated inputs; schemathesis' checks on every answer.
    (Its pytest plugin does not load under this pytest, so hypothesis drives it.)"""
    checked = 0
    for result in api.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(headers=headers)

        check()
        checked += 1
    return checked


def test_the_server_serves_its_document(server):
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/api/openapi.json") as answer:
        assert json.loads(answer.read()) == openapi()


def test_every_answer_to_an_anonymous_caller_is_documented(api):
    assert _check_every_operation(api, {}) == 15


def test_every_answer_to_an_authorised_caller_is_documented(api):
    assert _check_every_operation(api, {"Authorization": f"Bearer {TOKEN}"}) == 15
