"""`_links.console`: the execution's workflow run in the Step Functions console, only when deployed in AWS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent_tasks.console import execution_arn
from agent_tasks.models.executions import Execution, ExecutionResponse
from agent_tasks.settings import get_settings

STATE_MACHINE_ARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:agent-tasks-execution-prod"


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("STATE_MACHINE_ARN", STATE_MACHINE_ARN)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _execution() -> Execution:
    return Execution.model_validate(
        {
            "id": "0b5d6a43-3a8e-4c0e-9a57-1d2f0e6f4b11",
            "task_id": "t-1",
            "owner_id": "u-1",
            "task_name": "n",
            "task_version": 1,
            "task_snapshot": {},
            "trigger_type": "manual",
            "status": "running",
            "created_at": "2026-01-01T00:00:00Z",
        }
    )


def test_in_aws_the_answer_links_to_the_workflow_run_in_the_console(
    deployed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given console links on, as the template sets them outside the local cloud
    monkeypatch.setenv("CONSOLE_LINKS", "true")
    get_settings.cache_clear()
    # When an execution is answered
    links = ExecutionResponse.of(_execution()).model_dump(by_alias=True)["_links"]
    # Then `console` is the Step Functions console page of the run named by the execution id
    arn = "arn:aws:states:eu-west-1:123456789012:execution:agent-tasks-execution-prod:" + _execution().id
    assert links["console"] == (
        f"https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/{arn}"
    )


def test_without_console_links_there_is_no_console_link(deployed: None) -> None:
    # Given the default (the local cloud's ARNs lead to no console)
    links = ExecutionResponse.of(_execution()).model_dump(by_alias=True)["_links"]
    # Then the answer has no console link, and every link it has is a string
    assert "console" not in links
    assert all(isinstance(value, str) for value in links.values())


@pytest.mark.parametrize("arn", ["", "not-an-arn", "arn:aws:lambda:us-east-1:1:function:f"])
def test_an_unusable_state_machine_arn_gives_no_execution_arn(arn: str) -> None:
    assert execution_arn(arn, "e-1") is None
