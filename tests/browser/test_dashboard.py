"""The dashboard after a demo run, in headless Chromium: loads clean, charts have data.

A screenshot is kept as ``dashboard.png`` in the ``artifacts`` directory (tests/conftest.py)
for a person to look at.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from testdata import run_demo

from driftd.config import load_config
from driftd.daemon.builders import build_view
from driftd.daemon.web.server import StatusServer

pytestmark = pytest.mark.browser
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars"]  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    config_path = run_demo(tmp_path_factory.mktemp("demo") / "state")
    server = StatusServer(build_view(load_config(config_path), False), "127.0.0.1", 0)
    yield server.start(), tmp_path_factory.mktemp("chromium")
    server.stop()


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    from browser.test_email_render import chromium as find

    return subprocess.run(
        [find(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def _console_problems(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines()
            if "CONSOLE" in line or "Uncaught" in line or "Failed to load" in line]  # fmt: skip


CHART = (r'class="chart" id="([^"]+)" data-points="(\d+)" data-thresholds="(\d+)" '
         r'data-episodes="(\d+)" data-markers="(\d+)"')  # fmt: skip


def test_the_model_page_explains_alerts_and_charts_what_rules_watch(served, artifacts):
    server, profile = served
    at = 1793491200 + 4000 * 30  # the ?at= of an alert link: marked on every chart
    url = f"http://127.0.0.1:{server.port}/models/credit-risk?at={at}"
    page = chromium(profile, "--enable-logging=stderr", "--v=0", "--virtual-time-budget=8000",
                    "--dump-dom", url)  # fmt: skip
    assert _console_problems(page.stderr) == []
    charts = {c[0]: tuple(map(int, c[1:])) for c in re.findall(CHART, page.stdout)}
    fairness = {"selection-sex", "parity-sex", "tpr-sex", "fpr-sex"}
    features = {f"feature-{f}" for f in ("age", "income", "debt_ratio",
                                         "credit_history_months", "num_accounts",
                                         "occupation", "region")}  # fmt: skip
    assert set(charts) == {"performance"} | fairness | features, charts
    assert all(points > 10 for points, *_ in charts.values()), charts  # every chart has data
    # Threshold lines where a rule judges the plotted reading: accuracy, the selection
    # ratio, each feature's drift statistic; alert episodes shaded where rules fired
    # (accuracy fell, the campaign's features drifted); the promotion marked everywhere.
    assert charts["performance"][1] >= 1 and charts["parity-sex"][1] >= 1
    assert all(charts[f][1] >= 1 for f in features)
    assert charts["performance"][2] >= 1 and charts["feature-num_accounts"][2] >= 1
    assert charts["selection-sex"][2] >= 1  # the four-fifths episode over the rates
    assert all(markers >= 1 for *_, markers in charts.values())
    assert page.stdout.count("<canvas") >= len(charts)  # uPlot drew each one
    # Each firing alert's evidence; the accuracy alert's segments as a table.
    assert page.stdout.count("class=\"evidence\"") >= 3
    assert "false-alarm budget 1 per 1M events" in page.stdout
    assert "<th>segment</th>" in page.stdout and "error rate" in page.stdout
    # Per feature, the reference vs now distribution (two bars per bin).
    assert page.stdout.count("<svg class=\"bars\"") == len(features)
    assert page.stdout.count("<rect") >= 2 * 5 * len(features)
    assert "Alert timeline" in page.stdout and "champion" in page.stdout
    # Every rule with its status now: the firing ones say on which metrics.
    rules = page.stdout.split("<h2>Rules</h2>")[1].split("<h2>")[0]
    assert rules.count("<tr>") > 15 and "accuracy-drop" in rules
    assert "firing</span> (accuracy)" in rules and "clear</span>" in rules
    shot = artifacts / "dashboard-model.png"
    shot.unlink(missing_ok=True)
    chromium(profile, "--virtual-time-budget=8000", "--window-size=1300,5200",
             f"--screenshot={shot}", url)  # fmt: skip
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 60_000


def test_the_overview_lists_every_model_with_its_rules_and_sorts(served, artifacts):
    server, profile = served
    url = f"http://127.0.0.1:{server.port}/"
    page = chromium(profile, "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000",
                    "--dump-dom", url)  # fmt: skip
    assert _console_problems(page.stderr) == []
    assert "/models/credit-risk" in page.stdout and "Firing alerts" in page.stdout
    assert re.search(r"\d+ firing</span>: [^<]*accuracy-drop", page.stdout), page.stdout[:3000]
    assert page.stdout.count("<th data-sort") == 11  # every column sorts
    assert page.stdout.count("<svg class=\"spark\"") == 1  # the trend of its accuracy
    shot = artifacts / "dashboard-overview.png"
    shot.unlink(missing_ok=True)
    chromium(profile, "--virtual-time-budget=3000", "--window-size=1300,900",
             f"--screenshot={shot}", url)  # fmt: skip
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 20_000


def test_the_overview_holds_fifty_models(tmp_path):
    """50 models, no state yet: every one listed with its rules, clear of alerts, and
    sortable: ``?sort=rules`` (what a click on the header does) puts a model with the
    most rules (two sensitive attributes: fairness rules for each) first."""
    lines = ["models:"]
    for i in range(50):
        attributes = ", ".join(f"a{j}" for j in range(i % 3))
        lines.append(f"  model-{i:02d}: {{task: binary, features: {{f0: numeric}}, "
                     f"sensitive_attributes: [{attributes}]}}")  # fmt: skip
    lines.append(f"runtime: {{state_dir: {tmp_path / 'state'}}}")
    path = tmp_path / "driftd.yaml"
    path.write_text("\n".join(lines) + "\n")
    server = StatusServer(build_view(load_config(path), False), "127.0.0.1", 0).start()
    try:
        page, by_rules = (chromium(tmp_path / "profile", "--enable-logging=stderr", "--v=0",
                                   "--virtual-time-budget=3000", "--dump-dom",
                                   f"http://127.0.0.1:{server.port}/{query}")
                          for query in ("", "?sort=rules"))  # fmt: skip
    finally:
        server.stop()
    assert _console_problems(page.stderr) == []
    assert page.stdout.count("href=\"/models/model-") == 50
    assert page.stdout.count("all clear") == 50
    first = re.findall(r"href=\"/models/(model-\d+)\"", page.stdout)
    ranked = re.findall(r"href=\"/models/(model-\d+)\"", by_rules.stdout)
    assert first[0] == "model-00" and sorted(ranked) == sorted(first)
    assert int(ranked[0].split("-")[1]) % 3 == 2, ranked[:5]  # two attributes: most rules
    assert int(ranked[-1].split("-")[1]) % 3 == 0, ranked[-5:]
