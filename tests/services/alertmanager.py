"""A real Prometheus Alertmanager on loopback for the tests (built by services.gotools),
routing every alert to one webhook: the test's HTTP stand-in, which sees what
Alertmanager sends on (grouped, firing and resolved)."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

from services.gotools import alertmanager
from services.local import free_port, wait_for_port

CONFIG = """\
route:
  receiver: hook
  group_by: [model]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: {hook}
        send_resolved: true
"""


class LocalAlertmanager:
    def __init__(self, workdir: Path, hook_url: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (workdir / "alertmanager.yml").write_text(CONFIG.format(hook=hook_url))
        self._log = (workdir / "alertmanager.log").open("w")
        self._process = subprocess.Popen(
            [str(alertmanager()), f"--config.file={workdir / 'alertmanager.yml'}",
             f"--storage.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}",
             "--cluster.listen-address="],  # no gossip: one instance
            stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for_port(self.port, 60, self._process)

    def alerts(self) -> list[dict]:
        """GET /api/v2/alerts: the alerts Alertmanager holds as active."""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=10) as answer:
            return json.loads(answer.read())

    def log(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text()

    def close(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=30)
        self._log.close()
