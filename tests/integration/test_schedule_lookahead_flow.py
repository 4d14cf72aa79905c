"""The schedule lookahead in the local cloud: a slot claimed ahead starts its workflow, which waits in
its Wait state until the slot's time, then BeginSlot decides it and the run goes on to completion.
A run queued at its slot (a concurrency limit) waits on a task token (WaitForTurn), with no polling,
until the run going ends (the promoter answers the token) or it is cancelled.

The local cloud's Wait-until-timestamp reads `local_cloud.wait_clock`: the test sets it to the slot's
time, so the workflow does not wait out the real minute (nothing here sleeps).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx2 as httpx
import pytest

from agent_tasks.schedules import slot_execution_id
from agent_tasks.settings import get_settings
from agent_tasks.store import executions as execution_store
from tests.support.approvals import finished_run, waiting_request
from tests.support.messages_server import MessagesServer, text_reply, tool_use_reply
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


# -- a run queued at its slot waits on a task token ------------------------------------------------------

WRITE = ("write_file", {"path": "note.txt", "content": "hold the slot"})


def _ended_workflow(local_cloud: Any, execution_id: str) -> tuple[str, list[str]]:
    """Once the execution's workflow has ended: its status and the states it entered, in order."""
    sfn = boto3.client("stepfunctions")
    machine = str(local_cloud.stack.resources["ExecutionStateMachine"])
    arn = machine.replace(":stateMachine:", ":execution:") + f":{execution_id}"

    def ended() -> tuple[str, list[str]] | None:
        status = str(sfn.describe_execution(executionArn=arn)["status"])
        if status == "RUNNING":
            return None
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        return status, [
            e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
        ]

    result: tuple[str, list[str]] = wait_until(ended, what=f"the workflow of {execution_id} to end")
    return result


def _queued_at_its_slot(
    local_cloud: Any, http: httpx.Client, clock: list[datetime], model: MessagesServer
) -> tuple[str, str]:
    """A task allowed one run at a time, whose run-now waits for a person (holding the run slot) when
    its daily slot, claimed ahead, begins: the slot's run is queued there and its workflow waits on
    its token. Returns (the run going, the slot's run). Every model call but the first answers text
    (other flows' slots may be due at the same minute in this shared local cloud, and run too)."""
    model.default = text_reply("Done.")
    model.enqueue(tool_use_reply(WRITE))
    slot = (datetime.now(UTC) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    response = http.post(
        "/api/v1/tasks",
        json={
            "name": f"Daily, one at a time {uuid.uuid4().hex[:8]}",
            "prompt_template": "Write a short status note.",
            "allowed_tools": ["read_file", "write_file", "list_files"],
            "sdk_options": {"max_turns": 10},
            "is_scheduled": True,
            "schedule_cron": f"{slot.minute} {slot.hour} * * *",
            "overlap_policy": "allow",
            "max_concurrent_runs": 1,
            "approval": {"tools": ["write_file"], "timeout_seconds": 600, "on_timeout": "deny"},
        },
    )
    assert response.status_code == 201, response.text
    task = response.json()
    going = http.post(f"/api/v1/tasks/{task['id']}/execute", json={"variables": {}})
    assert going.status_code == 202, going.text
    going_id = str(going.json()["id"])
    waiting_request(http, going_id)  # the run going waits for a person, holding the task's run slot
    summary = local_cloud.rules.fire("SchedulerFunctionTick", at=slot - timedelta(seconds=50))
    assert summary["claimed_ahead"] >= 1, summary
    clock.append(slot)
    local_cloud.queues.drain("StarterFunction")
    queued_id = slot_execution_id(task["id"], slot)

    def its_token() -> str | None:
        stored = execution_store.get(queued_id)
        assert stored is None or stored.status in {"pending", "queued"}, stored
        return stored.turn_token if stored is not None and stored.status == "queued" else None

    token = wait_until(its_token, what="the slot's run to wait on its turn's token")
    answer = http.get(f"/api/v1/task-executions/{queued_id}")
    assert answer.json()["status"] == "queued"
    assert token not in answer.text  # the token never leaves the store
    return going_id, queued_id


def test_a_run_queued_at_its_slot_starts_when_the_run_going_ends_without_polling(
    local_cloud: Any, http: httpx.Client, clock_at_the_slot: list[datetime], model: MessagesServer
) -> None:
    # Given a slot's run queued at its slot behind a run waiting for a person
    going, queued = _queued_at_its_slot(local_cloud, http, clock_at_the_slot, model)
    # When the owner approves, and the run going completes (its end promotes the queued run)
    request = waiting_request(http, going)
    answer = http.post(
        f"/api/v1/task-executions/{going}/approvals/{request['id']}", json={"decision": "approve"}
    )
    assert answer.status_code == 200, answer.text
    assert finished_run(http, going)["status"] == "completed"
    # Then the slot's run was woken by its token, and completed
    done = finished_run(http, queued)
    assert done["status"] == "completed", done
    assert done["dequeued_at"] is not None
    # And its workflow waited once on the token: no look again and again (at most 2 turn calls)
    status, entered = _ended_workflow(local_cloud, queued)
    assert status == "SUCCEEDED"
    assert entered.count("WaitForTurn") == 1, entered
    assert entered.count("WaitForTurn") + entered.count("CheckTurn") <= 2, entered
    at = entered.index("WaitForTurn")
    assert entered[at : at + 3] == ["WaitForTurn", "SlotDecided", "Prepare"], entered


def test_a_run_cancelled_while_it_waits_for_its_turn_ends_cancelled(
    local_cloud: Any, http: httpx.Client, clock_at_the_slot: list[datetime], model: MessagesServer
) -> None:
    # Given a slot's run queued at its slot behind a run waiting for a person
    going, queued = _queued_at_its_slot(local_cloud, http, clock_at_the_slot, model)
    # When the owner cancels the queued run
    answer = http.post(f"/api/v1/task-executions/{queued}/cancel")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "cancelled"

    # Then its workflow's wait was released at once: it ended (Done), never running the agent
    status, entered = _ended_workflow(local_cloud, queued)
    assert status == "SUCCEEDED"
    assert entered[-3:] == ["WaitForTurn", "SlotDecided", "Done"], entered
    assert "Prepare" not in entered
    assert finished_run(http, queued)["status"] == "cancelled"
    # And the run going is cancelled too (the test's own end)
    assert http.post(f"/api/v1/task-executions/{going}/cancel").status_code == 200
