"""Prometheus' promtool and Alertmanager for the tests, built from their Go modules.

No package registry ships their binaries, but the Go module proxy is reachable and Go
is on the machine, so each is built once per version into ~/.cache/driftd:

- promtool (`promtool check metrics` lints an exposition; `check|test rules`), without
  the service-discovery plugins (`remove_all_sd`, Prometheus' own build tag: the checks
  do not need them and they are most of the build);
- Alertmanager, the real server (its v2 API, routing, grouping, notifications) with its
  web UI stubbed: the module does not carry the UI's built assets (`ui/app/dist`,
  made by npm in Alertmanager's release process), and nothing here uses the UI.

The builds take minutes, so scripts/test.sh starts them in the background before pytest
(``python tests/services/gotools.py``); a test that needs a tool waits for its build's
lock, then uses the binary. ``PROMTOOL`` / ``ALERTMANAGER`` may name installed ones.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

PROMETHEUS_VERSION = "v0.316.0"  # Prometheus 3.x's Go module version
ALERTMANAGER_VERSION = "v0.34.1"
CACHE = Path(os.environ.get("DRIFTD_CACHE", Path.home() / ".cache" / "driftd"))


def promtool() -> Path:
    return _tool("promtool", PROMETHEUS_VERSION, _build_promtool)


def alertmanager() -> Path:
    return _tool("alertmanager", ALERTMANAGER_VERSION, _build_alertmanager)


def _tool(name: str, version: str, build: Callable[[Path, Path, dict[str, str]], None]) -> Path:
    """The binary, built first if it is not there (waits for a build in progress)."""
    if os.environ.get(name.upper()):
        return Path(os.environ[name.upper()])
    home = CACHE / f"{name}-{version}"
    home.mkdir(parents=True, exist_ok=True)
    binary = home / name
    with open(home / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a build in progress holds it
        if not binary.exists():
            if shutil.which("go") is None:
                raise RuntimeError(f"the tests need Go to build {name} (or {name.upper()} set)")
            env = {**os.environ, "GOPATH": str(CACHE / "go"), "CGO_ENABLED": "0"}
            staging = home / f"{name}.partial"
            log = home / "build.log"
            try:
                build(staging, log, env)
            except subprocess.CalledProcessError:
                raise RuntimeError(f"building {name} failed; see {log}") from None
            staging.rename(binary)  # appears whole, or not at all
    return binary


def _go(args: list[str], log: Path, env: dict[str, str], cwd: Path | None = None) -> str:
    with log.open("a") as out:
        done = subprocess.run(["go", *args], env=env, cwd=cwd, stdout=subprocess.PIPE,
                              stderr=out, text=True, check=True)  # fmt: skip
    return done.stdout.strip()


def _build_promtool(target: Path, log: Path, env: dict[str, str]) -> None:
    gobin = target.parent / "bin"
    _go(["install", "-tags=remove_all_sd",
         f"github.com/prometheus/prometheus/cmd/promtool@{PROMETHEUS_VERSION}"],
        log, {**env, "GOBIN": str(gobin)})  # fmt: skip
    (gobin / "promtool").rename(target)


def _build_alertmanager(target: Path, log: Path, env: dict[str, str]) -> None:
    module = f"github.com/prometheus/alertmanager@{ALERTMANAGER_VERSION}"
    source = Path(json.loads(_go(["mod", "download", "-json", module], log, env))["Dir"])
    with tempfile.TemporaryDirectory(prefix="alertmanager-") as scratch:
        tree = Path(scratch) / "src"
        shutil.copytree(source, tree)
        for path in [tree, *tree.rglob("*")]:  # the module cache's copies are read-only
            path.chmod(path.stat().st_mode | 0o200)
        ui = tree / "ui" / "app" / "dist"
        ui.mkdir()
        (ui / "index.html").write_text("<html><body>Alertmanager (UI not built)</body></html>")
        _go(["build", "-mod=mod", "-o", str(target), "./cmd/alertmanager"], log, env, cwd=tree)


if __name__ == "__main__":  # scripts/test.sh: build ahead, in the background
    failed = False
    for tool in (promtool, alertmanager):
        try:
            print(f"ready: {tool()}", file=sys.stderr)
        except RuntimeError as exc:
            print(f"{tool.__name__}: {exc}", file=sys.stderr)
            failed = True
    sys.exit(1 if failed else 0)
