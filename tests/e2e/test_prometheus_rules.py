"""The recording and alerting rules docs/prometheus.md offers, checked by Prometheus'
own promtool: valid PromQL and rule files, and their unit tests (each alert seen
firing and staying quiet on made-up series) pass."""

import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow]
RULES = Path(__file__).resolve().parents[2] / "docs" / "prometheus"


def test_the_documented_rules_are_valid(promtool):
    done = subprocess.run([promtool, "check", "rules", RULES / "driftd-rules.yml"],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 12 rules found" in done.stdout


def test_the_documented_rules_pass_their_unit_tests(promtool):
    done = subprocess.run([promtool, "test", "rules", "driftd-rules.test.yml"], cwd=RULES,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout
