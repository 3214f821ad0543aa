"""Security properties, checked against real processes: credentials never reach a log
or an answer, the API listens on loopback unless told otherwise.

(Elsewhere: artifact loading refuses pickles and hash mismatches in
tests/retrain/test_registry.py; missing and wrong tokens get 401 in
tests/e2e/test_http.py; compose publishes no Redis or Kafka port in
tests/unit/test_compose.py; RELIABILITY.md lists them all.)
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request

import pytest
import redis
import yaml
from runtime.harness import ROOT, Setup, publish
from runtime.stream import MODELS, make_stream, write_config
from services.local import LocalRedis
from services.receivers import SmtpServer, WebhookReceiver
from testdata import write_reference_csv

from driftd.config import load_config
from driftd.daemon.builders import redis_store
from driftd.daemon.service import ensure_topics

pytestmark = [pytest.mark.kafka, pytest.mark.redis]
SECRETS = {
    "SEC_REDIS_PASSWORD": "redis-Pa55-w0rd-never-logged",
    "SEC_SMTP_PASSWORD": "smtp-Pa55-w0rd-never-logged",
    "SEC_HOOK_SECRET": "whsec-never-logged-0123456789",
    "SEC_API_TOKEN": "api-t0ken-never-logged",
}


def test_no_credential_reaches_logs_metrics_or_answers(tmp_path, kafka_service, monkeypatch):
    protected = LocalRedis(tmp_path / "redis", password=SECRETS["SEC_REDIS_PASSWORD"]).start()
    smtp = SmtpServer(tmp_path, password=SECRETS["SEC_SMTP_PASSWORD"])
    hook = WebhookReceiver()
    try:
        for name, value in SECRETS.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("SEC_HOOK_URL", f"{hook.url}/hooks/x")
        monkeypatch.setenv("SEC_SMTP_USER", "driftd")
        reference = write_reference_csv(tmp_path / "reference.csv", n=2000)
        path = write_config(tmp_path / "driftd.yaml", reference, kafka_service.address,
                            protected.url, "sec1")  # fmt: skip
        data = yaml.safe_load(path.read_text())
        data["redis"]["password_env"] = "SEC_REDIS_PASSWORD"
        data["http"]["token_env"] = "SEC_API_TOKEN"
        for model in MODELS:
            data["models"][model]["rules"] = [{"metric": "events.predictions", "op": ">",
                                               "threshold": 100, "name": "volume"}]  # fmt: skip
        data["alerting"] = {
            "receivers": {
                "hook": {"type": "webhook", "url_env": "SEC_HOOK_URL",
                         "secret_env": "SEC_HOOK_SECRET"},
                "mail": {"type": "email", "host": "127.0.0.1", "port": smtp.port,
                         "ca_file": str(smtp.ca_file), "username_env": "SEC_SMTP_USER",
                         "password_env": "SEC_SMTP_PASSWORD", "to": ["a@example.com"]},
            },
            "routes": [{"name": "all", "receivers": ["hook", "mail"], "group_wait": "0s"}],
        }  # fmt: skip
        path.write_text(yaml.safe_dump(data))
        config = load_config(path)
        ensure_topics(config, create=True)
        stream = make_stream(3000, seed=21)
        publish(Setup(path, reference, "sec1"), stream)
        done = subprocess.run(
            [sys.executable, "-m", "driftd.cli", "--log-level", "DEBUG", "--log-format", "json",
             "run", "--config", str(path), "--idle-exit", "4"],
            cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        logs = done.stdout + done.stderr
        assert '"level": "debug"' in logs  # DEBUG really ran
        store = redis_store(config)
        for model in MODELS:  # and the daemon did its work, with the protected Redis
            assert store.latest_readings(model)[1]["events.predictions"] > 0
        client = redis.Redis.from_url(protected.url, password=SECRETS["SEC_REDIS_PASSWORD"])
        stored = b" ".join(v for k in client.scan_iter("*") if client.type(k) == b"string"
                           for v in [client.get(k) or b""])  # fmt: skip
        assert hook.accepted() and smtp.messages  # the channels were used, with their secrets
        for name, secret in SECRETS.items():
            assert secret not in logs, name
            assert secret.encode() not in stored, name
        for line in done.stderr.splitlines():
            if line.startswith("{"):
                json.loads(line)  # every JSON log line parses (control chars escaped)
    finally:
        smtp.close()
        hook.close()
        protected.close()


def test_the_api_listens_on_loopback_by_default(tmp_path):
    from driftd.cli.serve import build_view
    from driftd.daemon.web.server import StatusServer

    path = tmp_path / "driftd.yaml"
    path.write_text(f"models: {{m1: {{task: binary, features: {{x: numeric}}}}}}\n"
                    f"runtime: {{state_dir: {tmp_path / 'state'}}}\n")  # fmt: skip
    config = load_config(path)
    assert config.http.host == "127.0.0.1"
    server = StatusServer(build_view(config, use_redis=False), config.http.host, 0).start()
    try:
        assert server.httpd.server_address[0] == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=5):
            pass
        others = {
            info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
        } - {"127.0.0.1"}
        for address in others - {a for a in others if a.startswith("127.")}:
            with pytest.raises(OSError), socket.create_connection((address, server.port), 2):
                pass
    finally:
        server.stop()
