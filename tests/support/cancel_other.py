"""The `cancel_other` overlap policy driven through the local cloud (used by the schedules flow test and
by the IAM flows test, which needs the starter's cancel grants used)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent_tasks.schedules import slot_execution_id
from tests.support.approvals import waiting_request


@dataclass(frozen=True)
class CancelOtherFlow:
    task_id: str
    slot: datetime
    first: str  # the run in progress (waiting for a person) when the slot came
    second: str  # the slot's execution
    tick: dict[str, Any]  # the slot's tick summary


def cancel_other_flow(local_cloud: Any, http: Any, *, name: str) -> CancelOtherFlow:
    """A task due every minute under overlap_policy cancel_other, whose runs wait for a person before
    write_file (so a run stays in progress): a run of it is started and waits; then the tick at its
    next slot claims the slot, and the starter (from the start queue) cancels the run in progress and
    starts the slot's run. (The run in progress is started through the API: the local tick's clock may
    run at most a minute ahead of the wall clock, so two slots in a row cannot both be fired.)"""
    created = http.post(
        "/api/v1/tasks",
        json={
            "name": name,
            "prompt_template": "Write a short status note.",
            "allowed_tools": ["read_file", "write_file", "list_files"],
            "sdk_options": {"max_turns": 10},
            "approval": {"tools": ["write_file"]},
            "is_scheduled": True,
            "schedule_cron": "* * * * *",
            "overlap_policy": "cancel_other",
        },
    )
    assert created.status_code == 201, created.text
    task = created.json()
    started = http.post(f"/api/v1/tasks/{task['id']}/execute", json={"variables": {}})
    assert started.status_code == 202, started.text
    first = started.json()["id"]
    waiting_request(http, first)  # the run is in progress: it waits for a person
    slot = datetime.fromisoformat(task["next_run_at"])
    tick = local_cloud.rules.fire("SchedulerFunctionTick", at=slot)
    assert tick["dispatched"] >= 1, tick
    local_cloud.queues.drain("StarterFunction")
    return CancelOtherFlow(
        task_id=task["id"], slot=slot, first=first, second=slot_execution_id(task["id"], slot), tick=tick
    )


def end_flow(http: Any, flow: CancelOtherFlow) -> None:
    """Cancel the slot's run (it waits for a person too) and delete the task."""
    assert http.post(f"/api/v1/task-executions/{flow.second}/cancel").status_code in (200, 409)
    assert http.delete(f"/api/v1/tasks/{flow.task_id}").status_code == 204
