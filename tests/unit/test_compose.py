"""The compose file cannot run here (no Docker engine), so its contract is checked by parsing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from driftd.config import load_config

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose"


def _services() -> dict:
    return yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())["services"]


def test_services_and_their_wiring():
    services = _services()
    assert set(services) == {"kafka", "redis", "topics", "driftd", "mailpit", "prometheus",
                             "grafana"}  # fmt: skip
    kafka = services["kafka"]["environment"]
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    redis_command = services["redis"]["command"]
    assert redis_command[redis_command.index("--appendonly") + 1] == "yes"
    assert "--requirepass" in redis_command
    daemon = services["driftd"]
    assert daemon["command"][-3:] == ["run", "--config", "/etc/driftd/driftd.yaml"]
    assert daemon["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert daemon["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "REDIS_PASSWORD" in daemon["environment"]
    assert (COMPOSE / services["topics"]["build"]["dockerfile"].split("/")[-1]).exists()


def test_no_kafka_or_redis_port_is_published_and_the_rest_only_on_loopback():
    services = _services()
    assert "ports" not in services["kafka"] and "ports" not in services["redis"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_the_mounted_driftd_config_is_valid_and_matches_the_services(monkeypatch):
    monkeypatch.setenv("REDIS_PASSWORD", "x")
    config = load_config(COMPOSE / "driftd.yaml")
    services = _services()
    advertised = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert advertised.endswith(config.kafka.bootstrap_servers)
    assert config.redis.url.startswith("redis://redis:6379")
    assert config.redis.password_env in services["driftd"]["environment"]
    assert config.redis.password() == "x"
    mail = config.alerting.receivers["mail"]
    assert mail.host in services  # alerts go to the mail catcher of the stack
    mounts = services["driftd"]["volumes"]
    assert "./driftd.yaml:/etc/driftd/driftd.yaml:ro" in mounts
    assert any(m.endswith(f":{config.runtime.state_dir}") for m in mounts)


def test_prometheus_scrapes_the_daemon_and_grafana_shows_its_metrics():
    config = load_config_for_compose()
    scrape = yaml.safe_load((COMPOSE / "prometheus.yml").read_text())
    (target,) = scrape["scrape_configs"][0]["static_configs"][0]["targets"]
    assert target == f"driftd:{config.http.port}" and config.http.host == "0.0.0.0"
    dashboard = json.loads((COMPOSE / "grafana" / "dashboards" / "driftd.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for metric in ("driftd_reading", "driftd_alert_firing", "driftd_events_total",
                   "driftd_dead_letters_total", "driftd_notifications_total",
                   "driftd_consumer_lag", "driftd_retrain_runs_total"):  # fmt: skip
        assert metric in exprs
    # Every metric a panel queries is one the daemon exports (no typo'd, dead panels);
    # counter families are declared without the _total their samples carry.
    source = " ".join(p.read_text() for p in (ROOT / "driftd").rglob("*.py"))
    for metric in set(re.findall(r"driftd_\w+", exprs)):
        assert f'"{metric.removesuffix("_total")}"' in source, metric


def load_config_for_compose():
    import os

    os.environ.setdefault("REDIS_PASSWORD", "x")
    return load_config(COMPOSE / "driftd.yaml")
