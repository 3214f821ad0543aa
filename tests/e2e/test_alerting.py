"""The alert path end to end through the CLI: a replay of the demo's stream with
routes to local Slack and webhook stand-ins, a silence made with `driftd silence`,
`driftd alerts test`, and secrets that must appear nowhere driftd writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from services.receivers import SlackStandIn, WebhookReceiver
from testdata import run_demo

from driftd.alerts.outbox import SqliteOutbox

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DRIFTD = [sys.executable, "-m", "driftd.cli"]
SECRETS = {
    "SLACK_WEBHOOK_URL": None,  # set per test: contains the stand-in's port
    "HOOK_SECRET": "whsec-0123456789abcdef",
    "BROKEN_HOOK_URL": None,
    "SMTP_PASSWORD": "smtp-Pa55-never-log-me",
}


@pytest.fixture
def receivers():
    slack, hook = SlackStandIn(), WebhookReceiver()
    yield slack, hook
    slack.close()
    hook.close()


@pytest.fixture(scope="module")
def demo_events(tmp_path_factory):
    directory = tmp_path_factory.mktemp("demo")
    events = directory / "events.jsonl"
    return run_demo(directory / "state", 8000, "--save-events", str(events)), events


def _config(tmp_path: Path, demo_config: Path) -> Path:
    data = yaml.safe_load(demo_config.read_text())
    for model in data["models"].values():  # absolute reference paths: the file moves
        reference = model.get("reference")
        if isinstance(reference, str) and not Path(reference).is_absolute():
            model["reference"] = str(demo_config.parent / reference)
    data["runtime"]["state_dir"] = str(tmp_path / "state")
    data["alerting"] = {
        "receivers": {
            "slack": {"type": "slack", "webhook_url_env": "SLACK_WEBHOOK_URL"},
            "hook": {"type": "webhook", "url_env": "HOOK_URL", "secret_env": "HOOK_SECRET"},
            "broken": {"type": "webhook", "url_env": "BROKEN_HOOK_URL"},
            "mail": {"type": "email", "host": "127.0.0.1", "port": 9, "to": ["x@example.com"],
                     "security": "none", "username_env": "SMTP_USER",
                     "password_env": "SMTP_PASSWORD"},
        },
        "routes": [
            {"name": "oncall", "receivers": ["slack", "hook", "broken", "mail"],
             "group_wait": "1s", "group_interval": "2s"},
        ],
        "retry_initial": "0.1s",
        "retry_max": "0.5s",
        "max_attempts": 2,
    }  # fmt: skip
    path = tmp_path / "driftd.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _env(slack, hook) -> dict[str, str]:
    return {
        **os.environ,
        "SLACK_WEBHOOK_URL": f"{slack.url}/webhook/T0SECRET/B0SECRET/xoxSecretPathToken9",
        "HOOK_URL": f"{hook.url}/hooks/driftd",
        "HOOK_SECRET": SECRETS["HOOK_SECRET"],
        "BROKEN_HOOK_URL": f"{hook.url}/missing?token=brokenHookToken77",
        "SMTP_USER": "driftd",
        "SMTP_PASSWORD": SECRETS["SMTP_PASSWORD"],
    }


def _cli(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*DRIFTD, "--log-level", "DEBUG", *args], capture_output=True,
                          text=True, timeout=300, env=env, check=False)  # fmt: skip


def test_replay_notifies_grouped_respects_silences_and_leaks_no_secret(
    tmp_path, demo_events, receivers
):
    slack, hook = receivers
    hook.script = []
    config = _config(tmp_path, demo_events[0])
    env = _env(slack, hook)
    # The broken receiver answers 404 (permanent): a failure report goes to the others.
    silence = _cli(
        env,
        "silence",
        "add",
        "--config",
        str(config),
        "-m",
        "metric=fairness.*",
        "--duration",
        "1h",
        "--comment",
        "known issue",
    )
    assert silence.returncode == 0, silence.stderr
    listed = _cli(env, "silence", "list", "--config", str(config))
    assert "fairness.*" in listed.stdout and "known issue" in listed.stdout

    done = _cli(env, "replay", "--config", str(config), "--json", str(demo_events[1]))
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    fired = {a["metric"] for a in summary["alerts"] if a["state"] == "firing"}
    assert any(m.startswith("fairness.") for m in fired)  # the rules still saw it

    notified = [r.json() for r in hook.accepted() if r.path == "/hooks/driftd"]
    assert notified, "the webhook got nothing"
    metrics = {a["metric"] for n in notified for a in n["alerts"]}
    assert not any(m.startswith("fairness.") for m in metrics)  # silenced
    assert any(m.startswith(("drift.", "accuracy", "concept")) for m in metrics)
    # Grouped: several alerts of the one model per notification, far fewer messages.
    assert max(len(n["alerts"]) for n in notified) > 1
    assert len(notified) < len(fired)
    reports = [n for n in notified if n["alerts"][0]["rule"] == "notification_failed"]
    assert reports and "broken" in reports[0]["alerts"][0]["description"]
    assert slack.accepted()

    # Secrets: nowhere in what driftd printed, logged, stored or sent.
    outbox = SqliteOutbox(tmp_path / "state" / "outbox.sqlite")
    stored = json.dumps([__import__("msgspec").to_builtins(i) for i in outbox.items()])
    written = [done.stdout, done.stderr, silence.stderr, listed.stdout, stored]
    written += [p.read_text(errors="replace") for p in (tmp_path / "state").glob("*.jsonl")]
    written += [r.body.decode(errors="replace") for r in hook.requests + slack.requests]
    assert "404" in stored  # the failure was recorded ...
    for value in ("T0SECRET", "xoxSecretPathToken9", "brokenHookToken77",
                  SECRETS["HOOK_SECRET"], SECRETS["SMTP_PASSWORD"]):  # fmt: skip
        for text in written:
            assert value not in text  # ... without the secret in it


def test_alerts_test_sends_a_sample_through_a_route(tmp_path, demo_events, receivers):
    slack, hook = receivers
    config = _config(tmp_path, demo_events[0])
    env = _env(slack, hook)
    ok = _cli(env, "alerts", "test", "--config", str(config), "--route", "oncall")
    assert ok.returncode == 1  # the broken receiver fails ...
    assert "ok slack" in ok.stdout.replace("\n", " ") and "ok hook" in ok.stdout
    assert "failed broken" in ok.stdout and "permanent" in ok.stdout
    assert "failed mail" in ok.stdout  # nothing listens on port 9
    assert "brokenHookToken77" not in ok.stdout + ok.stderr
    sample = next(r.json() for r in hook.accepted() if r.path == "/hooks/driftd")
    assert sample["alerts"][0]["rule"] == "driftd-test"
    missing = _cli(env, "alerts", "test", "--config", str(config), "--route", "nope")
    assert missing.returncode == 2 and "oncall" in missing.stderr
