"""EventBridge rules in the local cloud: an event reaches the Lambda targets whose rule pattern matches."""

from __future__ import annotations

import json
from typing import Any

import boto3

from agent_tasks.store import executions as execution_store
from tests.support.events import EVENTS_DIR
from tests.support.executions import pending_execution, stored_task
from tests.support.polling import wait_until


def _status_change(local_cloud: Any, execution_id: str, status: str) -> dict[str, Any]:
    event = json.loads((EVENTS_DIR / "sfn_execution_status_change.json").read_text())
    machine = local_cloud.stack.outputs["StateMachineArn"]
    arn = machine.replace(":stateMachine:", ":execution:") + f":{execution_id}"
    event["detail"].update(executionArn=arn, stateMachineArn=machine, name=execution_id, status=status)
    return {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Resources": [arn],
        "Detail": json.dumps(event["detail"]),
    }


def _delivered(local_cloud: Any, execution_id: str) -> list[str]:
    """The functions a rule delivered this execution's status change to (recorded as it is put)."""
    return [
        logical_id
        for logical_id, event in local_cloud.rule_deliveries
        if event.get("detail", {}).get("name") == execution_id
    ]


def test_only_events_matching_the_rules_pattern_reach_its_function(local_cloud: Any) -> None:
    # Given two executions the reconciler would end
    task = stored_task("rules")
    succeeded, failed = pending_execution(task), pending_execution(task)
    events = boto3.client("events")
    # When a status change its rule does not match (SUCCEEDED), then one it matches (FAILED), are put
    events.put_events(Entries=[_status_change(local_cloud, succeeded, "SUCCEEDED")])
    events.put_events(Entries=[_status_change(local_cloud, failed, "FAILED")])
    # Then only the matching one was delivered, to the reconciler, which ended its execution
    assert _delivered(local_cloud, succeeded) == []
    assert _delivered(local_cloud, failed) == ["ReconcilerFunction"]
    wait_until(
        lambda: getattr(execution_store.get(failed), "status", None) == "failed", what="the reconciler"
    )


def test_an_event_from_another_state_machine_does_not_match(local_cloud: Any) -> None:
    # Given a failure event of a state machine that is not the stack's
    other = pending_execution(stored_task("rules"))
    foreign = _status_change(local_cloud, other, "FAILED")
    detail = json.loads(foreign["Detail"])
    detail["stateMachineArn"] = "arn:aws:states:us-east-1:123456789012:stateMachine:someone-else"
    foreign["Detail"] = json.dumps(detail)
    # When it is put / Then no rule of ours delivers it
    boto3.client("events").put_events(Entries=[foreign])
    assert _delivered(local_cloud, other) == []
    assert getattr(execution_store.get(other), "status", None) == "pending"
