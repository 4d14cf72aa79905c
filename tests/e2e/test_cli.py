"""The `agent-tasks` command line and the Python client against the dev server, over HTTP.

The dev server here runs the real `anthropic` client against the local Messages server, whose
answers depend on the prompt: a run lists files and answers, fails with a permanent 400, or waits
(so it can be cancelled). Every command runs with a temporary HOME and config directory.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from agent_tasks_client import AgentTasks
from agent_tasks_local.cli import cli
from tests.support.dev_server import DevServer, start_dev_server, stop_dev_server
from tests.support.messages_server import (
    MessagesServer,
    RecordedRequest,
    Reply,
    error_reply,
    text_reply,
    tool_use_reply,
)
from tests.support.template import PROJECT_ROOT

FAIL_WORD = "please-fail"
WAIT_WORD = "please-wait"
SLOW_REPLY_SECONDS = 20  # released at once when the Messages server stops


def _respond(request: RecordedRequest) -> Reply:
    """The model, by prompt: fail, wait, or list the files once and then answer."""
    first = request.messages[0]["content"] if request.messages else ""
    prompt = first if isinstance(first, str) else " ".join(b.get("text", "") for b in first)
    if FAIL_WORD in prompt:
        return error_reply(400, message="max_tokens is too large for this model")
    if WAIT_WORD in prompt:
        slow = text_reply("finally")
        slow.delay_seconds = SLOW_REPLY_SECONDS
        return slow
    answered_tools = any(
        isinstance(m["content"], list) and any(b.get("type") == "tool_result" for b in m["content"])
        for m in request.messages
    )
    if "list_files" in request.tool_names and not answered_tools:
        return tool_use_reply(("list_files", {"pattern": "*"}), text="Looking at the files first.")
    return text_reply("All checks passed: OK.")


@dataclass
class Cli:
    server: DevServer
    env: dict[str, str]

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(cli(), list(args), env=self.env, catch_exceptions=False)

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture(scope="module")
def model_dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    model = MessagesServer(responder=_respond).start()
    server = start_dev_server(
        tmp_path_factory.mktemp("cli-dev-server"),
        {"MODEL_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": "sk-ant-local", "ANTHROPIC_BASE_URL": model.url},
    )
    try:
        yield server
    finally:
        model.stop()  # releases slow answers first, so no run holds the server up
        if server.process.poll() is None:
            stop_dev_server(server)


def _cli_for(server: DevServer, home: Path, user: str) -> Cli:
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "AGENT_TASKS_CONFIG_DIR": str(home / "agent-tasks"),
        "AGENT_TASKS_LOCAL_DIR": str(server.state_dir),
        "AGENT_TASKS_URL": "",
        "AGENT_TASKS_TOKEN": "",
        "AGENT_TASKS_PROFILE": "",
        "COLUMNS": "200",
    }
    run = Cli(server, env)
    result = run("login", "--local", user, "--url", server.base_url)
    assert result.exit_code == 0, result.output
    return run


@pytest.fixture
def agent_cli(model_dev_server: DevServer, tmp_path: Path, request: pytest.FixtureRequest) -> Cli:
    return _cli_for(model_dev_server, tmp_path / "home", f"cli-{request.node.name[-40:]}")


def _write(path: Path, task: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(task) if path.suffix == ".yaml" else json.dumps(task))
    return path


def _task(name: str, prompt: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "prompt_template": prompt,
        "allowed_tools": ["list_files", "read_file"],
        "sdk_options": {"model": "claude-sonnet-5-5", "max_turns": 5},
        **fields,
    }


def test_login_keeps_the_profile_in_a_file_only_its_owner_can_read(agent_cli: Cli) -> None:
    # Given a login (done by the fixture: login --local USER --url URL)
    config = Path(agent_cli.env["AGENT_TASKS_CONFIG_DIR"]) / "config.json"
    # Then the profile is in the temporary config directory, mode 0600, and commands use it
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text())["profiles"]["default"]["url"] == agent_cli.server.base_url
    assert agent_cli.json("tasks", "list") == []
    # And nothing was written to the config directory of the HOME the profile would default to
    assert not (Path(agent_cli.env["XDG_CONFIG_HOME"]) / "agent-tasks").exists()


def test_login_with_a_url_and_token_saves_a_named_profile_and_a_bad_token_is_refused(agent_cli: Cli) -> None:
    server = agent_cli.server
    # When another user logs in with a token into a second profile
    saved = agent_cli(
        "login", "--url", server.base_url, "--token", server.token("other"), "--profile", "other"
    )
    # Then it is checked against the API and becomes the current profile
    assert saved.exit_code == 0, saved.output
    assert "as other (profile 'other'" in saved.stdout
    assert agent_cli("tasks", "list").exit_code == 0
    # And a token the API refuses is not saved
    refused = agent_cli("login", "--url", server.base_url, "--token", "not-a-token", "--profile", "broken")
    assert refused.exit_code == 3
    assert "Unauthorized" in refused.stderr
    assert "broken" not in (Path(agent_cli.env["AGENT_TASKS_CONFIG_DIR"]) / "config.json").read_text()


def test_apply_creates_updates_shows_a_dry_run_diff_and_prunes(agent_cli: Cli, tmp_path: Path) -> None:
    files = tmp_path / "tasks"
    files.mkdir()
    first = _write(files / "first.yaml", _task("First check", "Check {{ service }}.", tags=["ops"]))
    second = _write(files / "second.json", _task("Second check", "Check the logs."))
    # When the directory is applied
    created = agent_cli("tasks", "apply", "-f", str(files))
    # Then both tasks are created
    assert created.exit_code == 0, created.output
    assert "created First check" in created.stdout
    assert "created Second check" in created.stdout
    # And applying again changes nothing
    again = agent_cli("tasks", "apply", "-f", str(files))
    assert "create 0, update 0, delete 0, unchanged 2" in again.stdout
    # When a file changes and the change is applied with --dry-run
    _write(first, _task("First check", "Check {{ service }} twice.", tags=["ops"]))
    dry = agent_cli("tasks", "apply", "-f", str(files), "--dry-run")
    # Then the diff is printed and nothing is stored
    assert dry.exit_code == 0, dry.output
    assert "update First check" in dry.stdout
    assert "-prompt_template: Check {{ service }}." in dry.stdout
    assert "+prompt_template: Check {{ service }} twice." in dry.stdout
    stored = agent_cli.json("tasks", "get", "First check")
    assert stored["version"] == 1
    # When it is applied for real, it is updated with If-Match on the version it read
    updated = agent_cli("tasks", "apply", "-f", str(files))
    assert "updated First check (prompt_template)" in updated.stdout
    stored = agent_cli.json("tasks", "get", "first CHECK")
    assert (stored["version"], stored["prompt_template"]) == (2, "Check {{ service }} twice.")
    # When a file is removed and the rest applied with --prune (dry run first)
    second.unlink()
    dry_prune = agent_cli("tasks", "apply", "-f", str(files), "--prune", "--dry-run")
    assert "delete Second check" in dry_prune.stdout
    assert len(agent_cli.json("tasks", "list")) == 2
    pruned = agent_cli("tasks", "apply", "-f", str(files), "--prune")
    # Then the task no file defines is deleted
    assert "deleted Second check" in pruned.stdout
    assert [t["name"] for t in agent_cli.json("tasks", "list")] == ["First check"]


def test_a_broken_rule_prints_the_apis_message_and_field_not_a_traceback(
    agent_cli: Cli, tmp_path: Path
) -> None:
    bad = _write(
        tmp_path / "bad.yaml", _task("Bad schedule", "x", is_scheduled=True, schedule_cron="61 * * * *")
    )
    result = agent_cli("tasks", "apply", "-f", str(bad))
    assert result.exit_code == 3
    assert "body.schedule_cron" in result.stderr
    assert "422" in result.stderr
    assert "Traceback" not in result.output


def test_run_follow_prints_turns_tools_and_results_and_exits_0_on_completed(
    agent_cli: Cli, tmp_path: Path
) -> None:
    # Given a task that makes a markdown report
    task = _task("Followed", "Check {{ service }} now.", generate_report=True, report_format="markdown")
    agent_cli("tasks", "apply", "-f", str(_write(tmp_path / "t.yaml", task)))
    # When it is run and followed
    result = agent_cli("run", "Followed", "--var", "service=api", "--follow")
    # Then each turn, tool call and result is printed, then the outcome, and it exits 0
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "prompt  Check api now." in out
    assert "turn 1  Looking at the files first." in out
    assert "tool  list_files" in out
    assert "result list_files ok" in out
    assert "turn 2  All checks passed: OK." in out
    assert "completed" in out.splitlines()[-1]
    # And the execution can be listed, shown and its report downloaded
    [execution] = agent_cli.json("executions", "list", "Followed")
    assert execution["status"] == "completed"
    assert execution["last_message_seq"] == execution["total_messages"] == 4
    shown = agent_cli("executions", "show", execution["id"])
    assert "completed" in shown.stdout
    report = tmp_path / "report.md"
    downloaded = agent_cli("report", "download", execution["id"], "-o", str(report))
    assert downloaded.exit_code == 0, downloaded.output
    assert "Check api now." in report.read_text()
    # And a rerun runs the same variables
    rerun = agent_cli.json("executions", "rerun", execution["id"], "--follow")
    assert (rerun["status"], rerun["prompt_variables"]) == ("completed", {"service": "api"})


def test_run_follow_exits_non_zero_when_the_run_fails_as_a_process(agent_cli: Cli, tmp_path: Path) -> None:
    # Given a task whose model call fails for good
    agent_cli("tasks", "apply", "-f", str(_write(tmp_path / "t.yaml", _task("Doomed", f"{FAIL_WORD} now"))))
    # When the installed console script follows a run of it, as CI would
    process = subprocess.run(
        [str(Path(sys.executable).parent / "agent-tasks"), "run", "Doomed", "--follow"],
        capture_output=True,
        text=True,
        env={**os.environ, **agent_cli.env},
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    # Then it prints the failure and its reason, and exits 1
    assert process.returncode == 1, process.stdout + process.stderr
    assert "failed" in process.stdout
    assert "max_tokens is too large for this model" in process.stdout
    assert "Traceback" not in process.stderr


def test_cancel_stops_a_running_execution(agent_cli: Cli, tmp_path: Path) -> None:
    # Given a run whose model is still thinking
    agent_cli("tasks", "apply", "-f", str(_write(tmp_path / "t.yaml", _task("Slow", f"{WAIT_WORD} here"))))
    started = agent_cli.json("run", "Slow")
    # When it is cancelled from the command line
    cancelled = agent_cli("executions", "cancel", started["id"])
    # Then it is cancelled, and following it now exits non-zero at once
    assert cancelled.exit_code == 0, cancelled.output
    assert cancelled.stdout.strip() == f"{started['id']} cancelled"
    assert agent_cli.json("executions", "show", started["id"])["status"] == "cancelled"
    followed = agent_cli("executions", "show", started["id"], "--follow")
    assert followed.exit_code == 1
    assert "cancelled" in followed.stdout.splitlines()[-1]


def test_the_example_task_files_apply_cleanly(agent_cli: Cli) -> None:
    result = agent_cli("tasks", "apply", "-f", str(PROJECT_ROOT / "examples" / "tasks"))
    assert result.exit_code == 0, result.output
    assert "create 2, update 0, delete 0, unchanged 0" in result.stdout


def test_the_client_walks_45_tasks_by_cursor(model_dev_server: DevServer) -> None:
    # Given 45 tasks of one user
    token = model_dev_server.token("cursor-walker")
    with AgentTasks(model_dev_server.base_url, token) as client:
        for n in range(45):
            client.create_task(_task(f"Walk {n:02d}", "x"))
        # When the client iterates them in pages of 10
        walked = list(client.iter_tasks(page_size=10))
        first_page = client.list_tasks(page_size=10)
    # Then it sees each of the 45 once, newest first, over 5 pages linked by cursors
    assert len(walked) == 45
    assert len({t["id"] for t in walked}) == 45
    assert walked[0]["name"] == "Walk 44"
    assert first_page["total"] == 45
    assert first_page["next_cursor"]


def test_the_client_reaches_secrets_schedule_runs_and_webhook_rotation(model_dev_server: DevServer) -> None:
    # Given a user with a scheduled task that has a webhook
    token = model_dev_server.token("client-routes")
    with AgentTasks(model_dev_server.base_url, token) as client:
        task = client.create_task(
            {
                **_task("Client routes", "x"),
                "is_scheduled": True,
                "schedule_cron": "0 * * * *",
                "notification_config": {"webhook_url": "https://hooks.example.com/agent-tasks"},
            }
        )
        # When it stores a secret, lists it, rotates the webhook secret, runs now and backfills
        stored = client.put_secret("API_TOKEN", "s3cr3t-value", description="for the check")
        listed = client.list_secrets()
        rotated = client.rotate_webhook_secret(task["id"])
        started = client.run_now(task["id"], force=True)
        backfilled = client.backfill(task["id"], "2026-12-01T00:00:00Z", "2026-12-01T02:30:00Z")
        client.delete_secret("API_TOKEN")
        after = client.list_secrets()
    # Then each answers as documented, and no answer holds the secret's value
    assert stored["name"] == "API_TOKEN"
    assert "s3cr3t-value" not in str(stored) + str(listed)
    assert [s["name"] for s in listed["items"]] == ["API_TOKEN"]
    assert rotated["webhook_secret"] != task["webhook_secret"]
    assert started["trigger_type"] == "manual"
    assert len(backfilled["execution_ids"]) == 3
    assert after["items"] == []
