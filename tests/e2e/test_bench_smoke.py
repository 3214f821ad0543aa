"""The benchmarks still run (seconds-long versions); their figures come from the full runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_one_command_writes_every_section(tmp_path):
    """`bench.report --smoke`: every section runs at seconds-long sizes and lands in the
    report with its command and a table (the peers' section, without its virtualenv,
    says it was not run)."""
    out = tmp_path / "BENCHMARKS.md"
    done = subprocess.run([sys.executable, "-m", "bench.report", "--smoke", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = out.read_text()
    sys.path.insert(0, str(ROOT))
    from bench.report import SECTIONS

    for section in SECTIONS:
        block = report.split(f"<!-- section:{section.name} -->")[1]
        block = block.split(f"<!-- /section:{section.name} -->")[0]
        assert f"-m {section.module}" in block
        ran = "|---" in block
        assert ran or (section.python is not None and "Not run" in block), block[:500]
