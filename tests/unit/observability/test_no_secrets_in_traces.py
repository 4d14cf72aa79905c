"""No secret or prompt reaches a trace or a log line: handlers' answers are not captured in traces."""

from __future__ import annotations

import json
import sys
from types import ModuleType

import boto3
import pytest

from agent_tasks import observability
from agent_tasks.settings import get_settings
from agent_tasks_local.lambdas import load_function_module
from tests.support.api_calls import Api
from tests.support.fixtures import LambdaClient
from tests.support.template import PROJECT_ROOT, template
from tests.support.tracing import RecordingProvider

SECRET_WORD = "plutonium-7c1f"


class _CurrentStdout:
    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def _deployed_function(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The function's module as Lambda loads it: with the template's Globals environment set first
    (the tracer reads its settings when the handler is decorated)."""
    variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    for key, value in variables.items():
        if isinstance(value, str):
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    unique = f"test_lambda_{name}_as_deployed"
    monkeypatch.delitem(sys.modules, unique, raising=False)
    return load_function_module(PROJECT_ROOT / "functions" / name, "app", unique)


@pytest.fixture
def state_machine(aws: dict[str, str]) -> None:
    boto3.client("stepfunctions", region_name="us-east-1").create_state_machine(
        name=get_settings().state_machine_arn.rsplit(":", 1)[-1],
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/agent-tasks-test",
    )


def test_no_secret_or_prompt_reaches_traces_or_logs_on_create_execute_and_a_run(
    state_machine: None, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    # Given the API and executor functions as deployed, a recorder in place of X-Ray and stdout captured
    monkeypatch.setenv("RUN_AGENT_BUDGET_SECONDS", "300")
    api = Api(LambdaClient(_deployed_function("api", monkeypatch), "api"), "alice")
    executor = LambdaClient(_deployed_function("executor", monkeypatch), "executor")
    recorder = RecordingProvider()
    monkeypatch.setattr(observability.tracer, "provider", recorder)
    monkeypatch.setattr(observability.logger.registered_handler, "stream", _CurrentStdout())
    capfd.readouterr()

    # When a task with a webhook is created (its answer holds the signing secret once), executed and run
    task = api.create(
        prompt_template="Summarise {{ topic }} for the board.",
        allowed_tools=["read_file", "list_files"],
        notification_config={"on": ["failed"], "webhook_url": "https://hooks.example.com/agent-tasks"},
    )
    secret = task["webhook_secret"]
    status, execution, _ = api.call(
        "POST", f"/api/v1/tasks/{task['id']}/execute", {"variables": {"topic": SECRET_WORD}}
    )
    assert status == 202, execution
    assert executor({"step": "prepare", "execution_id": execution["id"]}) == {"next": "run"}
    step = executor({"step": "run_agent", "execution_id": execution["id"]})
    while step["next"] == "continue":
        step = executor({"step": "run_agent", "execution_id": execution["id"]})
    executor({"step": "finalize", "execution_id": execution["id"], "state": {}})
    status, finished, _ = api.call("GET", f"/api/v1/task-executions/{execution['id']}")
    assert finished["status"] == "completed"
    assert SECRET_WORD in finished["rendered_prompt"]

    # Then the handlers were traced, and neither the secret nor the prompt is in any trace or log line
    traced = json.dumps(recorder.segments, default=str)
    logged = capfd.readouterr().out
    assert any(s["name"] == "## lambda_handler" for s in recorder.segments)
    assert "lambda_handler response" not in traced
    for value in (secret, SECRET_WORD):
        assert value not in traced
        assert value not in logged
