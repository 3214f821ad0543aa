"""Prometheus' own promtool for the tests: its exposition parser and linter
(`promtool check metrics`), rule checker and rule unit tests (`promtool check|test rules`).

No package registry ships a promtool binary, so it is built from Prometheus' Go module
(the Go module proxy is reachable, and Go is on the machine) into ~/.cache/driftd, once
per version, without the service-discovery plugins (`remove_all_sd`, Prometheus' own build
tag: promtool's checks do not need them and they are most of the build). The build takes
minutes, so scripts/test.sh starts it in the background before pytest
(``python tests/services/promtool.py``); a test that needs promtool waits for the build's
lock, then uses the binary. ``PROMTOOL`` may name an installed promtool instead.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

PROMETHEUS_VERSION = "v0.316.0"  # Prometheus 3.x's Go module version
CACHE = Path(os.environ.get("DRIFTD_CACHE", Path.home() / ".cache" / "driftd"))
HOME = CACHE / f"promtool-{PROMETHEUS_VERSION}"


def promtool() -> Path:
    """The promtool binary, built first if it is not there (waits for a running build)."""
    if os.environ.get("PROMTOOL"):
        return Path(os.environ["PROMTOOL"])
    HOME.mkdir(parents=True, exist_ok=True)
    binary = HOME / "promtool"
    with open(HOME / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a build in progress holds it
        if not binary.exists():
            _build(binary)
    return binary


def _build(binary: Path) -> None:
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("the Prometheus checks need Go to build promtool (or PROMTOOL set)")
    env = {**os.environ, "GOBIN": str(HOME / "bin"), "GOFLAGS": "-tags=remove_all_sd",
           "GOPATH": str(CACHE / "go"), "CGO_ENABLED": "0"}  # fmt: skip
    target = f"github.com/prometheus/prometheus/cmd/promtool@{PROMETHEUS_VERSION}"
    log = HOME / "build.log"
    with log.open("w") as out:
        done = subprocess.run([go, "install", target], env=env, stdout=out, stderr=out)
    if done.returncode != 0:
        raise RuntimeError(f"building promtool failed; see {log}")
    (HOME / "bin" / "promtool").rename(binary)  # appears whole, or not at all


if __name__ == "__main__":  # scripts/test.sh: build ahead, in the background
    try:
        print(f"promtool ready: {promtool()}", file=sys.stderr)
    except RuntimeError as exc:
        print(f"promtool: {exc}", file=sys.stderr)
        sys.exit(1)
