"""Phase 2 step 6 end to end: a scheduled task fires in the local cloud when the tick is driven.

The rule is fired on demand (the local cloud's rule loop is off in tests). The scheduler uses the
current time but never one earlier than the event's, so firing the event at the task's
next_run_at (the coming minute) makes that slot due without waiting for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
import httpx2 as httpx
import pytest

from agent_tasks.store import audit as audit_store
from tests.support.cancel_other import cancel_other_flow, end_flow
from tests.support.polling import wait_until

TERMINAL = {"completed", "failed", "cancelled", "timed_out"}


@pytest.fixture
def http(local_cloud: Any) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=local_cloud.api_url,
        headers={"Authorization": f"Bearer {local_cloud.token('sched-e2e')}"},
        timeout=30.0,
    ) as client:
        yield client


def test_a_scheduled_task_fires_when_the_tick_is_driven_and_completes(
    local_cloud: Any, http: httpx.Client, claim_when_due: None
) -> None:
    # Given a task scheduled every minute
    response = http.post(
        "/api/v1/tasks",
        json={
            "name": "Every minute",
            "prompt_template": "Write a short status note.",
            "allowed_tools": ["read_file", "write_file", "list_files"],
            "sdk_options": {"max_turns": 10},
            "is_scheduled": True,
            "schedule_cron": "* * * * *",
        },
    )
    assert response.status_code == 201, response.text
    task = response.json()
    assert task["schedule_description"] == "Every minute"
    slot = datetime.fromisoformat(task["next_run_at"])
    # When the scheduler's rule fires for that minute
    summary = local_cloud.rules.fire("SchedulerFunctionTick", at=slot)
    # Then the tick claimed it and queued its start (the starter function starts it)
    assert summary["dispatched"] >= 1, summary
    local_cloud.queues.drain("StarterFunction")

    def scheduled_execution() -> dict[str, Any] | None:
        items = http.get(f"/api/v1/tasks/{task['id']}/executions").json()["items"]
        return items[0] if items and items[0]["status"] in TERMINAL else None

    execution = wait_until(scheduled_execution, what="the scheduled execution to finish")
    assert execution["trigger_type"] == "scheduled"
    assert datetime.fromisoformat(execution["trigger_metadata"]["slot"]) == slot
    assert execution["trigger_metadata"]["rule"].startswith("agent-tasks-scheduler-tick-")
    assert execution["trigger_metadata"]["skipped_missed_slots"] == 0
    # And it completed with the scripted provider
    assert execution["status"] == "completed", execution
    # And the task moved on to the next minute
    moved = http.get(f"/api/v1/tasks/{task['id']}").json()
    assert datetime.fromisoformat(moved["next_run_at"]) > slot
    # And firing the same minute again starts nothing more
    again = local_cloud.rules.fire("SchedulerFunctionTick", at=slot)
    assert (again["started"], again["dispatched"]) == (0, 0), again
    assert http.get(f"/api/v1/tasks/{task['id']}/executions").json()["total"] == 1


def test_under_cancel_other_the_next_slot_cancels_the_run_in_progress_and_starts(
    local_cloud: Any, http: httpx.Client, claim_when_due: None
) -> None:
    denied_before = len(local_cloud.ledger.denied)
    # Given a task due every minute under overlap_policy cancel_other, with a run in progress (waiting
    # for a person before write_file)
    # When the tick at its next slot runs and the starter starts the slot
    flow = cancel_other_flow(local_cloud, http, name="Cancel the other")
    try:
        # Then the run in progress is cancelled, saying why, and its approval request with it
        first = http.get(f"/api/v1/task-executions/{flow.first}").json()
        assert first["status"] == "cancelled", first
        assert "cancel_other" in (first["error_message"] or ""), first
        approvals = http.get(f"/api/v1/task-executions/{flow.first}/approvals").json()["items"]
        assert [a["status"] for a in approvals] == ["cancelled"]
        # And its workflow is no longer running
        machine = local_cloud.stack.outputs["StateMachineArn"]
        arn = machine.replace(":stateMachine:", ":execution:") + f":{flow.first}"
        sfn = boto3.client("stepfunctions")
        wait_until(
            lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING",
            what="the cancelled run's workflow to stop",
        )
        # And the slot's run started: two executions (the cancelled one and the slot's), the second going
        second = http.get(f"/api/v1/task-executions/{flow.second}").json()
        assert second["trigger_type"] == "scheduled"
        assert datetime.fromisoformat(second["trigger_metadata"]["slot"]) == flow.slot
        assert second["status"] not in TERMINAL, second
        listed = http.get(f"/api/v1/tasks/{flow.task_id}/executions").json()
        assert sorted(e["id"] for e in listed["items"]) == sorted([flow.first, flow.second])
        # And the cancel is audited, naming the run it cancelled
        [audited] = [
            event
            for event in audit_store.list_events("sched-e2e", limit=500, start_key=None)[0]
            if event.action == "schedule.overlap_cancelled" and event.resource_id == flow.task_id
        ]
        assert audited.details["cancelled_execution_ids"] == [flow.first]
        # And the starter's role allowed all of it (stop the workflow, release the wait, drop the workspace)
        assert local_cloud.ledger.denied[denied_before:] == []
    finally:
        end_flow(http, flow)
