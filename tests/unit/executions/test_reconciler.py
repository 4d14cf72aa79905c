"""The reconciler: a workflow that ended abnormally ends its execution, once."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import pytest

from agent_tasks.services import workflow
from agent_tasks.store import executions as execution_store
from tests.support.events import EVENTS_DIR
from tests.support.executions import pending_execution, stored_task
from tests.support.fixtures import LambdaClient, load_function


@cache
def _template() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS_DIR / "sfn_execution_status_change.json").read_text())
    return loaded


def status_change(execution_id: str, status: str) -> dict[str, Any]:
    event = copy.deepcopy(_template())
    arn = event["detail"]["executionArn"].rsplit(":", 1)[0] + f":{execution_id}"
    event["resources"] = [arn]
    event["detail"].update(executionArn=arn, name=execution_id, status=status)
    return event


@pytest.fixture
def reconciler(aws: dict[str, str]) -> LambdaClient:
    return LambdaClient(load_function("reconciler"), "reconciler")


@pytest.mark.parametrize(
    ("workflow_status", "expected"),
    [("FAILED", "failed"), ("ABORTED", "cancelled"), ("TIMED_OUT", "timed_out")],
)
def test_a_running_execution_is_marked_when_its_workflow_ends(
    reconciler: LambdaClient, workflow_status: str, expected: str
) -> None:
    # Given a running execution whose Lambda died mid-step
    execution_id = pending_execution(stored_task())
    workflow.prepare(execution_id)
    # When Step Functions reports its workflow ended
    result = reconciler(status_change(execution_id, workflow_status))
    # Then the execution is marked accordingly
    assert result == {"result": "marked", "execution_id": execution_id, "status": expected}
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.status == expected
    assert execution.error_message is not None
    assert execution.completed_at is not None
    assert [n.destination for n in execution.notifications] == ["eventbridge"]


def test_the_failure_reason_names_the_workflow_error(reconciler: LambdaClient) -> None:
    execution_id = pending_execution(stored_task())
    reconciler(status_change(execution_id, "FAILED"))
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.error_message == "the workflow failed before the execution finished (Lambda.Unknown)"


def test_an_execution_that_already_ended_is_left_alone(reconciler: LambdaClient) -> None:
    execution_id = pending_execution(stored_task())
    execution_store.update(execution_id, {"status": "cancelled", "error_message": "cancelled by the user"})
    result = reconciler(status_change(execution_id, "ABORTED"))
    assert result == {"result": "already_ended", "execution_id": execution_id, "status": "cancelled"}
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.error_message == "cancelled by the user"


def test_an_unknown_execution_or_status_is_ignored(reconciler: LambdaClient) -> None:
    assert reconciler(status_change("not-stored", "FAILED"))["result"] == "unknown_execution"
    assert reconciler(status_change("not-stored", "SUCCEEDED")) == {"result": "ignored"}


def test_an_execution_that_ends_while_reconciling_is_not_overwritten(
    reconciler: LambdaClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the reconciler reads the execution while it is still pending...
    execution_id = pending_execution(stored_task())
    stale = execution_store.get(execution_id)
    assert stale is not None
    # ...and the user cancels it before the reconciler writes
    execution_store.update(execution_id, {"status": "cancelled", "error_message": "cancelled by the user"})
    monkeypatch.setattr(execution_store, "get", lambda _id: stale if _id == execution_id else None)
    # When the ABORTED event is reconciled
    result = reconciler(status_change(execution_id, "ABORTED"))
    # Then the conditional write refuses: the cancellation stands and nothing is announced
    assert result["result"] == "already_ended"
    monkeypatch.undo()
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.status == "cancelled"
    assert execution.error_message == "cancelled by the user"
    assert execution.notifications == []
