"""The CLI answers in one line, never a traceback (issue 15), and the API and registry
take versions strictly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from driftd.retrain.registry import Registry


def test_a_failing_command_says_one_line_and_exits_1(tmp_path, binary_config_file):
    """A version that does not exist: one line naming the problem, no traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "driftd.cli", "models", "promote", "--config",
         str(binary_config_file), "m1", "7"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode in (1, 2), done
    assert "Traceback" not in done.stderr and done.stderr.strip().count("\n") <= 2, done.stderr


@pytest.mark.parametrize(("command", "says"), [
    (["models", "promote", "m1", "3"], "m1 has no version 3 (versions: none yet)"),
    (["models", "rollback", "m1"], "m1 has no previous champion to roll back to"),
    (["retrain", "nosuch"], "model 'nosuch' is not in the config"),
    (["retrain", "m1"], "models.m1.retrain: no retrain section"),
])  # fmt: skip
def test_each_refusal_says_what_is_wrong_in_one_line(binary_config_file, capsys, command, says):
    from driftd.cli.main import main

    code = main([*command, "--config", str(binary_config_file)])
    err = capsys.readouterr().err.strip()
    assert code in (1, 2) and says in err and "\n" not in err and "Traceback" not in err, err


def test_version_folders_are_ascii_digits_only(tmp_path):
    registry = Registry(tmp_path)
    for name in ("1", "²", "٣", "02x"):
        (tmp_path / "m" / "versions" / name).mkdir(parents=True)
    assert registry.versions("m") == [1]


@pytest.mark.parametrize("version", [True, 1e400, 1.5, 0.0, "1", -1, 0, None])
def test_the_api_takes_a_version_strictly(version, tmp_path):
    from driftd.daemon.web.api import Actions

    class View:  # the registry is never reached: the body is refused first (2.0 is taken
        # as 2: an integer to JSON Schema and the OpenAPI document)
        registry = None

    with pytest.raises(ValueError, match="positive integer"):
        Actions(View(), announce=lambda event: None).promote("m", {"version": version})  # type: ignore[arg-type]


IMPOSSIBLE = [("--port", "70000"), ("--port", "-1"), ("--idle-exit", "nan"),
              ("--idle-exit", "inf"), ("--idle-exit", "-1"), ("--idle-exit", "1e400")]  # fmt: skip


@pytest.mark.parametrize(("option", "value"), IMPOSSIBLE)
def test_run_refuses_impossible_numbers_naming_the_option(binary_config_file, capsys, option,
                                                          value):  # fmt: skip
    from driftd.cli.main import main

    with pytest.raises(SystemExit) as exit:
        main(["run", "--config", str(binary_config_file), option, value])
    assert exit.value.code == 2
    assert option in capsys.readouterr().err
