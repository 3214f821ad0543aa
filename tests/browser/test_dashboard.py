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


def test_dashboard_loads_without_console_errors_and_its_charts_have_data(served, artifacts):
    server, profile = served
    url = f"http://127.0.0.1:{server.port}/models/credit-risk"
    page = chromium(profile, "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
                    "--dump-dom", url)  # fmt: skip
    problems = [line for line in page.stderr.splitlines()
                if "CONSOLE" in line or "Uncaught" in line or "Failed to load" in line]  # fmt: skip
    assert problems == []
    charts = dict(re.findall(r'class="chart" id="([^"]+)" data-points="(\d+)"', page.stdout))
    assert set(charts) == {"accuracy", "drift", "fairness-sex"}
    assert all(int(points) > 10 for points in charts.values()), charts
    assert page.stdout.count("<canvas") >= 3  # uPlot drew each one
    assert "Alert timeline" in page.stdout and "champion" in page.stdout
    index = chromium(profile, "--virtual-time-budget=2000", "--dump-dom",
                     f"http://127.0.0.1:{server.port}/")  # fmt: skip
    assert "/models/credit-risk" in index.stdout and "Firing alerts" in index.stdout
    shot = artifacts / "dashboard.png"
    shot.unlink(missing_ok=True)
    chromium(profile, "--virtual-time-budget=5000", "--window-size=1280,1600",
             f"--screenshot={shot}", url)  # fmt: skip
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 30_000
