"""The CLI as a new user meets it (issue 16): fast help listing every command, a default
config, one flag for the service's state, every stderr line JSON when asked, one-line
errors and the documented exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from driftd.cli.parser import build_parser

COMMANDS = ["demo", "replay", "run", "topics", "metrics", "config", "silence", "alerts",
            "retrain-worker", "retrain", "models", "status", "serve", "dev"]  # fmt: skip


def _driftd(*args: str, cwd=None, env=None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "driftd.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip


def test_help_lists_every_command_and_imports_nothing_heavy():
    done = _driftd("--help")
    assert done.returncode == 0
    for command in COMMANDS:
        assert f"    {command} " in done.stdout, command
    assert "exit codes:" in done.stdout and "driftd demo" in done.stdout
    # What --help costs is the imports: none of the heavy ones (timing is not asserted).
    probe = ("import sys; from driftd.cli.parser import build_parser; build_parser(); "
             "heavy = [m for m in ('scipy', 'sklearn', 'numpy', 'pandas', 'pyarrow', "
             "'confluent_kafka', 'redis', 'matplotlib') if m in sys.modules]; "
             "print(heavy)")  # fmt: skip
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, timeout=60)  # fmt: skip
    assert loaded.stdout.strip() == "[]", loaded.stdout


def test_every_option_has_help_and_every_command_an_example():
    parser = build_parser()
    seen = 0
    stack = [parser]
    while stack:
        current = stack.pop()
        for action in current._actions:
            if action.choices and isinstance(action.choices, dict):  # subcommands
                stack.extend(action.choices.values())
            elif action.option_strings or action.dest not in ("command",):
                assert action.help, f"{current.prog}: {action.dest} has no help"
                seen += 1
        if current.get_default("func") is not None:
            assert current.epilog and "example" in current.epilog, current.prog
    assert seen > 60


def test_config_defaults_to_driftd_yaml_then_the_environment(tmp_path, binary_config_file):
    home = binary_config_file.parent
    if binary_config_file.name != "driftd.yaml":
        shutil.copy(binary_config_file, home / "driftd.yaml")
    env = {k: v for k, v in os.environ.items() if k != "DRIFTD_CONFIG"}
    assert _driftd("config", "check", cwd=home, env=env).returncode == 0
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    missing = _driftd("status", cwd=elsewhere, env=env)
    assert missing.returncode == 2
    assert "driftd.yaml" in missing.stderr and "DRIFTD_CONFIG" in missing.stderr
    assert "Traceback" not in missing.stderr
    env["DRIFTD_CONFIG"] = str(home / "driftd.yaml")
    assert _driftd("config", "check", cwd=elsewhere, env=env).returncode == 0
    # config check takes --config like every other command (and FILE as before)
    assert _driftd("config", "check", "--config", str(home / "driftd.yaml")).returncode == 0


def test_status_without_state_exits_1_like_metrics(binary_config_file):
    status = _driftd("status", "--config", str(binary_config_file))
    metrics = _driftd("metrics", "--config", str(binary_config_file), "--model", "m1")
    assert (status.returncode, metrics.returncode) == (1, 1), (status.stderr, metrics.stderr)
    assert "No state yet" in status.stderr


def test_a_bad_log_level_and_a_busy_port_are_one_line(binary_config_file):
    bad = _driftd("--log-level", "loud", "status", "--config", str(binary_config_file))
    assert bad.returncode == 2 and "--log-level" in bad.stderr and "Traceback" not in bad.stderr
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        serve = _driftd("serve", "--config", str(binary_config_file), "--port", str(port))
    assert serve.returncode == 1, serve.stderr
    assert f"port {port}" in serve.stderr and "already in use" in serve.stderr
    assert "Traceback" not in serve.stderr and serve.stderr.strip().count("\n") <= 1


def test_log_format_json_makes_every_stderr_line_json(tmp_path):
    done = _driftd("--log-format", "json", "demo", "--predictions", "3000", "--no-retrain",
                   "--state-dir", str(tmp_path / "demo"), timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # raises on any line that is not JSON
    assert any(r["logger"] == "driftd.alerts.console" and "[FIRING]" in r["msg"]
               for r in records), lines[:5]  # fmt: skip
    failed = _driftd("--log-format", "json", "status", "--config", str(tmp_path / "none.yaml"))
    (record,) = [json.loads(line) for line in failed.stderr.splitlines() if line.strip()]
    assert record["level"] == "error" and "config error" in record["msg"]


@pytest.mark.parametrize("flag", ["--service", "--redis"])
def test_one_flag_for_the_services_state_with_the_old_name_kept(flag, binary_config_file):
    args = build_parser().parse_args(["status", "--config", str(binary_config_file), flag])
    assert args.service is True


def test_a_replay_that_meets_its_own_events_says_so_and_exits_1(tmp_path):
    events = tmp_path / "events.jsonl"
    demo = _driftd("demo", "--predictions", "1000", "--no-retrain", "--quiet", "--save-events",
                   str(events), "--state-dir", str(tmp_path / "demo"))  # fmt: skip
    assert demo.returncode == 0, demo.stderr[-2000:]
    config = str(tmp_path / "demo" / "config.yaml")
    first = _driftd("replay", "--config", config, str(events), "--fresh", "--quiet")
    assert first.returncode == 0 and "already counted" not in first.stderr
    again = _driftd("replay", "--config", config, str(events), "--quiet")
    assert again.returncode == 1
    assert "already counted by an earlier run" in again.stderr and "--fresh" in again.stderr


def test_config_check_warns_about_an_unset_receiver_secret(tmp_path):
    path = tmp_path / "driftd.yaml"
    path.write_text("models:\n  m:\n    task: binary\n    features: {x: numeric}\n"
                    "alerting:\n  receivers:\n"
                    "    oncall: {type: slack, webhook_url_env: DRIFTD_TEST_UNSET_HOOK}\n"
                    "  routes:\n    - {name: all, receivers: [oncall]}\n")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTD_TEST_UNSET_HOOK")}
    done = _driftd("config", "check", "--config", str(path), env=env)
    assert done.returncode == 0, done.stderr
    assert "alerting.receivers.oncall.webhook_url_env" in done.stdout
    assert "DRIFTD_TEST_UNSET_HOOK" in done.stdout and "not set" in done.stdout
    env["DRIFTD_TEST_UNSET_HOOK"] = "https://hooks.example/x"
    quiet = _driftd("config", "check", "--config", str(path), env=env)
    assert "not set" not in quiet.stdout
