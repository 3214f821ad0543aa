"""A real MLflow tracking server on loopback for the tests: ``mlflow server`` from the
test virtualenv, a SQLite backend store and a local artifact root it serves itself
(``--serve-artifacts``, MLflow's default), as a small team runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from services.local import free_port


class LocalMlflow:
    START_SECONDS = 180.0  # a busy 2-core machine imports MLflow's server slowly

    def __init__(self, workdir: Path):
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log_path = workdir / "mlflow.log"
        self._log = self._log_path.open("w")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server",
             "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
             "--artifacts-destination", str(workdir / "artifacts"),
             "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"],
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
            # No background job runner (GenAI jobs, a pool of huey consumers): a registry
            # does not need it, and a 2-core CI machine shares its cores with Kafka.
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        )  # fmt: skip
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.START_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {self.log()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        self.close()
        raise TimeoutError(f"mlflow server not healthy in {self.START_SECONDS:.0f} s: "
                           f"{self.log()[-2000:]}")  # fmt: skip

    def log(self) -> str:
        return self._log_path.read_text(errors="replace")

    def close(self) -> None:
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)  # the server and its worker
            try:
                self._process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(10)
        self._log.close()
