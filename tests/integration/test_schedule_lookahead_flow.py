"""The schedule lookahead in the local cloud: a slot claimed ahead starts its workflow, which waits in
its Wait state until the slot's time, then BeginSlot decides it and the run goes on to completion.

The local cloud's Wait-until-timestamp reads `local_cloud.wait_clock`: the test sets it to the slot's
time, so the workflow does not wait out the real minute (nothing here sleeps).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx2 as httpx
import pytest

from agent_tasks.settings import get_settings
from tests.support.polling import wait_until

TERMINAL = {"completed", "failed", "cancelled", "timed_out"}


@pytest.fixture
def http(local_cloud: Any) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=local_cloud.api_url,
        headers={"Authorization": f"Bearer {local_cloud.token('sched-lookahead')}"},
        timeout=30.0,
    ) as client:
        yield client


@pytest.fixture
def clock_at_the_slot(local_cloud: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    """The lookahead at its default (60 s), and the workflows' wait clock, set by the test; the real
    clock again afterwards."""
    monkeypatch.setenv("SCHEDULE_LOOKAHEAD_SECONDS", "60")
    get_settings.cache_clear()
    moment: list[datetime] = []
    original = local_cloud.wait_clock
    local_cloud.wait_clock = lambda: moment[0] if moment else datetime.now(UTC)
    try:
        yield moment
    finally:
        local_cloud.wait_clock = original
        monkeypatch.undo()
        get_settings.cache_clear()


def test_a_slot_claimed_ahead_waits_for_its_time_then_runs(
    local_cloud: Any, http: httpx.Client, clock_at_the_slot: list[datetime]
) -> None:
    # Given a task due once a day, at a minute one to two minutes from now
    slot = (datetime.now(UTC) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    response = http.post(
        "/api/v1/tasks",
        json={
            "name": "Daily, started ahead",
            "prompt_template": "Write a short status note.",
            "allowed_tools": ["read_file", "write_file", "list_files"],
            "sdk_options": {"max_turns": 10},
            "is_scheduled": True,
            "schedule_cron": f"{slot.minute} {slot.hour} * * *",
        },
    )
    assert response.status_code == 201, response.text
    task = response.json()
    assert datetime.fromisoformat(task["next_run_at"]) == slot
    # When the scheduler's rule fires 50 s before the slot, inside the 60 s lookahead (the handler
    # takes the event's time, at most a minute ahead of its clock)
    summary = local_cloud.rules.fire("SchedulerFunctionTick", at=slot - timedelta(seconds=50))
    # Then the tick claimed the slot ahead, and the starter starts its workflow (now, before the slot)
    # (other flows' tasks in this shared local cloud may be due too)
    assert summary["claimed_ahead"] >= 1, summary
    assert summary["dispatched"] >= 1, summary
    clock_at_the_slot.append(slot)  # the workflow's clock reaches the slot: its Wait ends
    local_cloud.queues.drain("StarterFunction")

    def finished() -> dict[str, Any] | None:
        items = http.get(f"/api/v1/tasks/{task['id']}/executions").json()["items"]
        return items[0] if items and items[0]["status"] in TERMINAL else None

    execution = wait_until(finished, what="the scheduled execution to finish")
    # Then the run completed, for that slot, and no longer waits
    assert execution["status"] == "completed", execution
    assert datetime.fromisoformat(execution["trigger_metadata"]["slot"]) == slot
    assert execution["waiting_until"] is None
    # And its workflow was started with the slot's time and went through the Wait, then BeginSlot
    sfn = boto3.client("stepfunctions")
    machine = str(local_cloud.stack.resources["ExecutionStateMachine"])
    arn = machine.replace(":stateMachine:", ":execution:") + f":{execution['id']}"
    started = sfn.describe_execution(executionArn=arn)
    assert json.loads(started["input"]) == {
        "execution_id": execution["id"],
        "not_before": slot.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    entered = [
        event["stateEnteredEventDetails"]["name"] for event in history if "stateEnteredEventDetails" in event
    ]
    assert entered[:4] == ["StartedAhead", "WaitForSlot", "BeginSlot", "SlotDecided"], entered
    assert "Prepare" in entered
    # And a tick at the slot's own time starts nothing more for it
    again = local_cloud.rules.fire("SchedulerFunctionTick", at=slot)
    assert again["started"] == 0, again
    assert http.get(f"/api/v1/tasks/{task['id']}/executions").json()["total"] == 1
