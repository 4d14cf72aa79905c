"""An execution's metrics (EMF on stdout) and log lines, as CloudWatch would receive them.

The executor's real handler runs each step, so what is checked is what Lambda would print:
Powertools writes both the JSON log lines and the EMF documents to stdout.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import boto3
import pytest

from agent_tasks import observability
from agent_tasks.models.tasks import Task
from agent_tasks.services import executions as service
from agent_tasks.settings import get_settings
from tests.support.executions import stored_task
from tests.support.fixtures import LambdaClient, load_function
from tests.support.tracing import RecordingProvider

PROMPT_VARIABLES = {"topic": "quarterly-secrets", "audience": "the board"}
RENDERED_PROMPT = "Summarise the quarterly-secrets notes for the board."


@pytest.fixture
def state_machine(aws: dict[str, str]) -> str:
    """The state machine STATE_MACHINE_ARN names, so StartExecution succeeds (moto does not run it)."""
    client = boto3.client("stepfunctions", region_name="us-east-1")
    arn: str = client.create_state_machine(
        name=get_settings().state_machine_arn.rsplit(":", 1)[-1],
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/agent-tasks-test",
    )["stateMachineArn"]
    return arn


@pytest.fixture
def executor(state_machine: str, monkeypatch: pytest.MonkeyPatch) -> LambdaClient:
    # The test context says 60 s remain; give RunAgent a budget of its own, as workflow tests do.
    monkeypatch.setenv("RUN_AGENT_BUDGET_SECONDS", "300")
    get_settings.cache_clear()
    return LambdaClient(load_function("executor"), "agent-tasks-executor")


class _CurrentStdout:
    """Writes to whatever sys.stdout is at the time, as a Lambda's stdout always is."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def stdout(capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> pytest.CaptureFixture[str]:
    """What the function prints: EMF documents and the Logger's JSON lines (its handler keeps the
    stream it was made with, which pytest has long replaced, so it is pointed at the current one)."""
    monkeypatch.setattr(observability.logger.registered_handler, "stream", _CurrentStdout())
    return capfd


def _lines(text: str) -> list[dict[str, Any]]:
    parsed = []
    for line in text.splitlines():
        if line.startswith("{"):
            parsed.append(json.loads(line))
    return parsed


def _emf(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if "_aws" in line]


def _logs(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if "_aws" not in line and "level" in line]


def _metric_values(documents: list[dict[str, Any]], name: str) -> list[tuple[float, dict[str, str]]]:
    """Each value of the metric, with the dimensions of its TriggerType set."""
    found = []
    for document in documents:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        if name not in {m["Name"] for m in directive["Metrics"]}:
            continue
        assert directive["Namespace"] == "AgentTasks"
        assert ["service"] in directive["Dimensions"]
        assert ["service", "TriggerType"] in directive["Dimensions"]
        values = document[name] if isinstance(document[name], list) else [document[name]]
        found.extend(
            (value, {"service": document["service"], "TriggerType": document["TriggerType"]})
            for value in values
        )
    return found


def _start(task: Task, trigger_type: str) -> str:
    execution = service.create_and_start(
        task,
        PROMPT_VARIABLES,
        trigger_type=trigger_type,  # type: ignore[arg-type]
        actor=service.Actor(user_id=task.owner_id, request_id="req-1"),
    )
    return execution.id


def _run_steps(executor: LambdaClient, execution_id: str) -> None:
    assert executor({"step": "prepare", "execution_id": execution_id}) == {"next": "run"}
    step = executor({"step": "run_agent", "execution_id": execution_id})
    while step["next"] == "continue":
        step = executor({"step": "run_agent", "execution_id": execution_id})
    assert step == {"next": "finalize"}
    assert executor({"step": "finalize", "execution_id": execution_id, "state": {}}) == {
        "status": "completed"
    }


def test_a_completed_execution_counts_once_by_trigger_type_and_every_log_line_names_it(
    aws: dict[str, str],
    executor: LambdaClient,
    stdout: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a task whose RunAgent must resume several times (one model call per invocation)
    monkeypatch.setenv("RUN_AGENT_MAX_MODEL_CALLS", "1")
    get_settings.cache_clear()
    task = stored_task()
    stdout.readouterr()
    # When it is executed manually and the executor's steps run through the handler
    execution_id = _start(task, "manual")
    _run_steps(executor, execution_id)
    lines = _lines(stdout.readouterr().out)
    documents = _emf(lines)
    # Then it is counted as started and completed exactly once, by trigger type
    manual = {"service": "agent-tasks", "TriggerType": "manual"}
    assert _metric_values(documents, "ExecutionsStarted") == [(1, manual)]
    assert _metric_values(documents, "ExecutionsCompleted") == [(1, manual)]
    assert _metric_values(documents, "ExecutionsFailed") == []
    # And its totals once (not once per RunAgent invocation), tools and tokens included
    assert _metric_values(documents, "ToolCalls") == [(3, manual)]
    assert _metric_values(documents, "PermissionDenials") == [(0, manual)]
    ((input_tokens, _),) = _metric_values(documents, "ModelInputTokens")
    ((output_tokens, _),) = _metric_values(documents, "ModelOutputTokens")
    assert input_tokens > 0
    assert output_tokens > 0
    # And every log line of the execution's work carries its ids and the Lambda request id
    logs = _logs(lines)
    assert len(logs) >= 4  # prepared, the loop stopping in each invocation, completed
    for line in logs:
        assert line["execution_id"] == execution_id, line
        assert line["task_id"] == task.id, line
        assert line["owner_id"] == task.owner_id, line
        assert line["function_request_id"], line
    # And neither the prompt nor a tool's output is in any of them
    assert all("quarterly-secrets" not in json.dumps(line) for line in logs)
    assert all("agent-notes" not in json.dumps(line) for line in logs)


def test_a_failed_scheduled_execution_counts_as_failed_with_its_trigger_type(
    aws: dict[str, str], executor: LambdaClient, stdout: pytest.CaptureFixture[str]
) -> None:
    # Given a scheduled execution whose workflow failed after Prepare
    execution_id = _start(stored_task(), "scheduled")
    executor({"step": "prepare", "execution_id": execution_id})
    stdout.readouterr()
    # When MarkFailed runs
    error = {"Error": "States.TaskFailed", "Cause": "boom"}
    assert executor({"step": "mark_failed", "execution_id": execution_id, "error": error}) == {
        "status": "failed"
    }
    lines = _lines(stdout.readouterr().out)
    # Then ExecutionsFailed is counted once under TriggerType=scheduled, and nothing else ended
    scheduled = {"service": "agent-tasks", "TriggerType": "scheduled"}
    assert _metric_values(_emf(lines), "ExecutionsFailed") == [(1, scheduled)]
    assert _metric_values(_emf(lines), "ExecutionsCompleted") == []
    assert all(line["execution_id"] == execution_id for line in _logs(lines))


def test_execution_dimensions_do_not_leak_into_the_handlers_metrics(aws: dict[str, str]) -> None:
    # Given an execution counted while the handler's Metrics holds an API metric
    observability.metrics.add_metric(name="Api4xx", unit="Count", value=1)
    try:
        observability.record_execution_started(service.Execution.model_validate(_execution_fields()))
        # Then the handler's metrics keep their own dimensions only
        document = observability.metrics.serialize_metric_set()
        assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
        assert "TriggerType" not in document
    finally:
        observability.metrics.clear_metrics()


def _execution_fields() -> dict[str, Any]:
    return {
        "id": "e-1",
        "task_id": "t-1",
        "owner_id": "u-1",
        "task_name": "n",
        "task_version": 1,
        "task_snapshot": {},
        "trigger_type": "rerun",
        "status": "pending",
        "created_at": "2026-01-01T00:00:00Z",
    }


def test_the_model_call_and_each_tool_call_are_subsegments_with_their_duration(
    aws: dict[str, str], executor: LambdaClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the tracer's recorder replaced by one that remembers subsegments
    recorder = RecordingProvider()
    monkeypatch.setattr(observability.tracer, "provider", recorder)
    # When an execution runs to its end
    _run_steps(executor, _start(stored_task(), "manual"))
    # Then each model call and each tool call was a subsegment carrying its duration
    names = [s["name"] for s in recorder.segments]
    assert names.count("## model call") == 4
    assert sorted(n for n in names if n.startswith("## tool ")) == [
        "## tool list_files",
        "## tool read_file",
        "## tool write_file",
    ]
    calls = [s for s in recorder.segments if s["name"] == "## model call" or s["name"].startswith("## tool ")]
    assert all(isinstance(s["metadata"]["duration_ms"], int) for s in calls)
    tools = [s for s in calls if s["name"].startswith("## tool ")]
    assert all(s["annotations"]["permission_denied"] is False for s in tools)
