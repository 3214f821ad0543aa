"""The coverage-guided fuzzers (tests/fuzz/atheris_targets.py), bounded to fit CI.

Each target runs for ``SECONDS`` in its own process from the seed corpus; a finding
(a crash or a broken property) makes atheris exit non-zero with the input, which the
assertion shows. What they found is fixed and kept as a regression test in
test_hostile.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent
SECONDS = 20


@pytest.mark.parametrize("target", ["decoder", "config", "api"])
def test_coverage_guided_fuzzing_finds_nothing(tmp_path, target):
    done = subprocess.run(
        [sys.executable, str(HERE / "atheris_targets.py"), target, str(tmp_path / "corpus"),
         f"-max_total_time={SECONDS}", f"-artifact_prefix={tmp_path}/"],
        cwd=tmp_path, capture_output=True, text=True, timeout=SECONDS * 10,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    runs = [line for line in done.stderr.splitlines() if line.startswith("Done ")]
    assert runs and int(runs[-1].split()[1]) > 100, done.stderr[-2000:]  # it really ran
