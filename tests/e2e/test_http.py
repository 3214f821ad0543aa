"""The HTTP server over a demo's state: every endpoint, the 401s, a parsed Prometheus scrape."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families
from testdata import run_demo

from driftd.cli.serve import build_view
from driftd.config import load_config
from driftd.daemon.web.api import Actions
from driftd.daemon.web.server import StatusServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
TOKEN = "api-token-for-tests-123"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    config_path = run_demo(tmp_path_factory.mktemp("demo") / "state")
    config = load_config(config_path)
    view = build_view(config, use_redis=False)
    server = StatusServer(view, "127.0.0.1", 0, "DRIFTD_TEST_TOKEN", actions=Actions(view))
    yield server.start()
    server.stop()


def call(server, path: str, method: str = "GET", body=None, token: str | None = None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            status, kind = response.status, response.headers["Content-Type"]
    except urllib.error.HTTPError as exc:
        raw, status, kind = exc.read(), exc.code, exc.headers["Content-Type"]
    return status, (json.loads(raw) if kind.startswith("application/json") else raw.decode())


def test_health_and_readiness(server):
    assert call(server, "/healthz") == (200, {"status": "ok"})
    status, ready = call(server, "/readyz")
    assert status == 200 and ready == {"ready": True, "checks": {"store": True}}


def test_models_history_alerts_versions(server):
    status, models = call(server, "/api/models")
    assert status == 200 and [m["model"] for m in models] == ["credit-risk"]
    metrics = models[0]["metrics"]
    assert 0 < metrics["accuracy"] < 1 and models[0]["champion"] == 2
    status, one = call(server, "/api/models/credit-risk")
    assert one["metrics"] == metrics
    status, history = call(server, "/api/models/credit-risk/history?metric=accuracy&limit=50")
    assert status == 200 and len(history["points"]) == 50
    assert history["points"][-1][1] == metrics["accuracy"]
    status, alerts = call(server, "/api/alerts")
    assert status == 200 and alerts["firing"] and alerts["recent"]
    # The current value first, then the value at firing and the worst since (issue 14).
    accuracy = next(a for a in alerts["firing"] if a["metric"] == "accuracy")
    assert accuracy["current"] == metrics["accuracy"]
    assert accuracy["worst"] <= min(accuracy["current"], accuracy["at_firing"])
    status, versions = call(server, "/api/models/credit-risk/versions")
    assert versions["aliases"]["champion"] == 2 and len(versions["versions"]) == 2
    assert versions["trial"] is None  # the demo's shadow trial ended with the promotion
    status, runs = call(server, "/api/models/credit-risk/runs")
    # Newest first: the shadow trial's outcome, then the run that put version 2 on trial.
    assert status == 200 and [r["status"] for r in runs] == ["promoted", "trial"]
    assert runs[0]["stage"] == "live shadow"
    assert runs[0]["version"] == 2 and runs[0]["champion_before"] == 1 and runs[0]["seconds"] > 0
    assert call(server, "/api/models/nope")[0] == 404
    assert call(server, "/nothing")[0] == 404


def test_prometheus_scrape_parses(server):
    status, text = call(server, "/metrics")
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(text)}
    readings = {s.labels["metric"]: s.value for s in families["driftd_reading"].samples
                if s.labels["model"] == "credit-risk"}  # fmt: skip
    _, models = call(server, "/api/models")
    assert readings["accuracy"] == models[0]["metrics"]["accuracy"]
    events = {s.labels["kind"]: s.value for s in families["driftd_events"].samples
              if s.labels["model"] == "credit-risk"}  # fmt: skip
    assert events["predictions"] > 0
    assert any(s.value == 1.0 for s in families["driftd_alert_firing"].samples)
    assert families["driftd_model_champion_version"].samples[0].value == 2
    runs = {s.labels["outcome"]: s.value for s in families["driftd_retrain_runs"].samples}
    assert runs == {"promoted": 1, "trial": 1, "rejected": 0, "failed": 0}
    _, history = call(server, "/api/models/credit-risk/runs")
    last = families["driftd_retrain_last_run_seconds"].samples[0].value
    assert last == history[0]["seconds"]


def test_prometheus_exposition_passes_promtool_lint(server, promtool):
    """Prometheus' own parser and linter (`promtool check metrics`): names, units,
    counter suffixes, help texts. It prints each problem and exits non-zero."""
    _, text = call(server, "/metrics")
    assert "driftd_reading{" in text and "driftd_events_total{" in text
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                          text=True)  # fmt: skip
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_prometheus_families_keep_one_unit_and_counters_end_in_total(server):
    from driftd.detectors.readings import unit_of

    _, text = call(server, "/metrics")
    for counter in ("driftd_events", "driftd_join", "driftd_detections", "driftd_retrain_runs"):
        assert f"\n{counter}_total{{" in text
        assert f"# TYPE {counter}_total counter" in text or f"# TYPE {counter} counter" in text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    dimensionless = {s.labels["metric"] for s in families["driftd_reading"].samples}
    assert dimensionless and all(unit_of(name) == "ratio" for name in dimensionless)
    assert not any(name.startswith(("events.", "join.matched", "latency_ms")) or
                   name.endswith("seconds") for name in dimensionless)  # fmt: skip
    _, models = call(server, "/api/models")
    metrics = models[0]["metrics"]
    latency = {s.labels["statistic"]: s.value
               for s in families["driftd_serving_latency_seconds"].samples
               if s.labels["model"] == "credit-risk"}  # fmt: skip
    assert latency["p95"] == pytest.approx(metrics["latency_ms.p95"] / 1000)
    silence = {s.labels["metric"]: s.value for s in families["driftd_reading_seconds"].samples
               if s.labels["model"] == "credit-risk"}  # fmt: skip
    assert silence["quality.silence_seconds"] == metrics["quality.silence_seconds"]
    # The demo's shadow lane: its readings under the model label credit-risk/shadow, each
    # in its own family (its counters are counters), its accuracy beside the model's.
    shadow = {s.labels["kind"]: s.value for s in families["driftd_events"].samples
              if s.labels["model"] == "credit-risk/shadow"}  # fmt: skip
    assert shadow["predictions"] == metrics["shadow.events.predictions"] > 0
    lane = {s.labels["metric"]: s.value for s in families["driftd_reading"].samples
            if s.labels["model"] == "credit-risk/shadow"}  # fmt: skip
    assert lane["accuracy"] == metrics["shadow.accuracy"]


@pytest.mark.parametrize("path", ["/api/silences", "/api/models/credit-risk/rollback",
                                  "/api/models/credit-risk/promote",
                                  "/api/models/credit-risk/retrain"])  # fmt: skip
def test_state_changes_need_the_token(server, path, monkeypatch):
    monkeypatch.delenv("DRIFTD_TEST_TOKEN", raising=False)
    assert call(server, path, "POST", {}, token=TOKEN)[0] == 401  # no token configured
    monkeypatch.setenv("DRIFTD_TEST_TOKEN", TOKEN)
    assert call(server, path, "POST", {})[0] == 401  # none given
    assert call(server, path, "POST", {}, token="wrong")[0] == 401


def test_authorised_silence_rollback_promote_retrain(server, monkeypatch):
    monkeypatch.setenv("DRIFTD_TEST_TOKEN", TOKEN)
    status, made = call(server, "/api/silences", "POST",
                        {"matchers": {"metric": "drift.*"}, "duration": "1h"}, TOKEN)  # fmt: skip
    assert status == 201
    _, listed = call(server, "/api/silences")
    assert [s["id"] for s in listed] == [made["id"]]
    assert call(server, "/api/silences", "POST", {"matchers": {"colour": "x"}}, TOKEN)[0] == 400
    for duration in (float("nan"), 1e400, "99999999999w", -1):  # never stored (issue 15)
        body = {"matchers": {"model": "credit-risk"}, "duration": duration}
        assert call(server, "/api/silences", "POST", body, TOKEN)[0] == 400, duration
    assert len(call(server, "/api/silences")[1]) == 1 and call(server, "/api/alerts")[0] == 200
    status, back = call(server, "/api/models/credit-risk/rollback", "POST", {}, TOKEN)
    assert status == 200 and back["champion"] == 1
    status, again = call(server, "/api/models/credit-risk/promote", "POST", {"version": 2}, TOKEN)
    assert status == 200 and again["champion"] == 2
    status, asked = call(server, "/api/models/credit-risk/retrain", "POST",
                         {"reason": "test"}, TOKEN)  # fmt: skip
    assert status == 200 and asked["requested"]


def test_status_in_the_terminal(server):
    done = subprocess.run(
        [sys.executable, "-m", "driftd.cli", "status", "--config",
         str(server.view.alert_log.parent / "config.yaml")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    model = server.view.models()[0]
    assert "credit-risk" in done.stdout and "firing alerts" in done.stdout
    assert f"{model['metrics']['events.predictions']:.0f}" in done.stdout
