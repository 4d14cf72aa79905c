"""The client's own command line (without the local cloud): usage errors and missing logins are
explained, never a traceback. No server is needed for these."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from agent_tasks_client import AgentTasks
from agent_tasks_client.cli import State, make_cli


def _no_pauses(url: str, token: str | None) -> AgentTasks:
    return AgentTasks(url, token, sleep=lambda _seconds: None)


def _run(tmp_path: Path, *args: str) -> Result:
    env = {
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "AGENT_TASKS_CONFIG_DIR": str(tmp_path / "config"),
        "AGENT_TASKS_URL": "",
        "AGENT_TASKS_TOKEN": "",
        "AGENT_TASKS_PROFILE": "",
    }
    return CliRunner().invoke(make_cli(), list(args), env=env, obj=State(client_factory=_no_pauses))


def test_login_local_without_the_local_cloud_says_what_is_needed(tmp_path: Path) -> None:
    result = _run(tmp_path, "login", "--local", "bob")
    assert result.exit_code == 2
    assert "login --local needs the local cloud's agent-tasks" in result.stderr
    assert not (tmp_path / "config").exists()


def test_a_command_before_login_says_how_to_log_in(tmp_path: Path) -> None:
    result = _run(tmp_path, "tasks", "list")
    assert result.exit_code == 3
    assert "not logged in: run `agent-tasks login --url URL`" in result.stderr


@pytest.mark.parametrize("args", [["run", "t", "--var", "novalue"], ["run", "t", "--var", "=x"]])
def test_a_bad_variable_is_a_usage_error_naming_the_option(tmp_path: Path, args: list[str]) -> None:
    result = _run(tmp_path, "--url", "http://127.0.0.1:9", *args)
    assert result.exit_code == 2
    assert "--var" in result.stderr
    assert "is not KEY=VALUE" in result.stderr


def test_a_bad_task_file_names_the_file_and_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("prompt_template: p\n")
    result = _run(tmp_path, "--url", "http://127.0.0.1:9", "tasks", "apply", "-f", str(bad))
    assert result.exit_code == 3
    assert f"error: {bad} (task 1): name: a task needs a name" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_an_unreachable_api_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    from tests.support.fixtures import free_port

    result = _run(tmp_path, "--url", f"http://127.0.0.1:{free_port()}", "--token", "t", "tasks", "list")
    assert result.exit_code == 3
    assert "cannot reach" in result.stderr
    assert "Traceback" not in result.output
