"""AWS's limits, enforced in the local cloud where moto does not (agent_tasks_local/limits.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import httpx2 as httpx
import pytest
from botocore.exceptions import ClientError

from agent_tasks_local import limits
from tests.support.executions import api_client, finished, stored_task


@pytest.fixture
def http(local_cloud: Any) -> Iterator[httpx.Client]:
    with api_client(local_cloud, "limits") as client:
        yield client


def test_a_start_execution_input_over_256_kb_is_refused(local_cloud: Any) -> None:
    # Given an input one byte over Step Functions' limit
    too_big = json.dumps({"pad": "x" * int(limits.STATE_PAYLOAD.value)})
    # When a workflow is started with it / Then AWS's validation error, and no workflow
    with pytest.raises(ClientError) as refused:
        boto3.client("stepfunctions").start_execution(
            stateMachineArn=local_cloud.stack.outputs["StateMachineArn"], name="too-big", input=too_big
        )
    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_a_task_result_over_256_kb_fails_the_step_with_data_limit_exceeded(
    local_cloud: Any, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_tasks.services import workflow

    # Given a Prepare step whose result is over the state payload limit
    prepare = workflow.prepare

    def bloated(execution_id: str) -> dict[str, Any]:
        return {**prepare(execution_id), "pad": "x" * int(limits.STATE_PAYLOAD.value)}

    monkeypatch.setattr(workflow, "prepare", bloated)
    # When a task is executed
    task = stored_task("limits")
    started = http.post(
        f"/api/v1/tasks/{task.id}/execute", json={"variables": {"topic": "a", "audience": "b"}}
    )
    # Then the workflow fails as in AWS, where States.DataLimitExceeded is terminal (no Catch takes it;
    # moto names the failure States.Runtime, its cause names the limit)
    done = finished(http, started.json()["id"])
    arn = local_cloud.stack.outputs["StateMachineArn"].replace(":stateMachine:", ":execution:")
    workflow_run = boto3.client("stepfunctions").describe_execution(executionArn=f"{arn}:{done['id']}")
    assert workflow_run["status"] == "FAILED"
    assert "States.DataLimitExceeded" in workflow_run.get("cause", ""), workflow_run
    # And the execution is ended by the reconciler, from the workflow's status-change event
    assert done["status"] == "failed"
    assert done["error_message"].startswith("the workflow failed before the execution finished"), done


def test_a_step_past_its_functions_timeout_fails_with_sandbox_timedout(
    local_cloud: Any, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_tasks.services import workflow

    # Given the executor's RunAgent step with a (small) timeout it outlives
    release = threading.Event()
    run_agent = workflow.run_agent

    def slow(execution_id: str, **kwargs: Any) -> dict[str, Any]:
        release.wait(30)
        return run_agent(execution_id, **kwargs)

    monkeypatch.setattr(workflow, "run_agent", slow)
    host = local_cloud.host
    template_timeout = host.timeout_of
    monkeypatch.setattr(
        host, "timeout_of", lambda f, e: 0.2 if e.get("step") == "run_agent" else template_timeout(f, e)
    )
    try:
        # When a task is executed
        task = stored_task("limits")
        started = http.post(
            f"/api/v1/tasks/{task.id}/execute", json={"variables": {"topic": "a", "audience": "b"}}
        )
        # Then the workflow sees Lambda's timeout, and the execution fails with it
        done = finished(http, started.json()["id"])
    finally:
        release.set()
    assert done["status"] == "failed"
    assert "Sandbox.Timedout" in (done["error_message"] or ""), done


def test_a_body_over_10_mb_gets_413_from_the_front(local_cloud: Any, http: httpx.Client) -> None:
    body = b"x" * (int(limits.API_PAYLOAD.value) + 1)
    response = http.post("/api/v1/tasks", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"message": "Request Entity Too Large"}


def test_an_integration_past_the_front_timeout_gets_504(
    local_cloud: Any, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an API function slower than the front's integration timeout (made 50 ms)
    release = threading.Event()
    handler = local_cloud.host._handler

    def slow_handler(function: Any) -> Any:
        def run(event: Any, context: Any) -> Any:
            release.wait(30)
            return handler(function)(event, context)

        return run

    monkeypatch.setattr(local_cloud.host, "_handler", slow_handler)
    monkeypatch.setattr(local_cloud.front, "integration_timeout_seconds", 0.05)
    try:
        # When a request comes in / Then the front answers 504, as API Gateway does
        response = http.get("/api/v1/health")
    finally:
        release.set()
    assert response.status_code == 504


@pytest.mark.parametrize(
    ("key", "limit"), [("PK", limits.DYNAMODB_PARTITION_KEY), ("SK", limits.DYNAMODB_SORT_KEY)]
)
def test_a_key_over_dynamodbs_size_is_refused(local_cloud: Any, key: str, limit: limits.Limit) -> None:
    item = {"PK": {"S": "limits"}, "SK": {"S": "limits"}, key: {"S": "k" * (int(limit.value) + 1)}}
    with pytest.raises(ClientError) as refused:
        boto3.client("dynamodb").put_item(TableName=local_cloud.stack.outputs["TableName"], Item=item)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
