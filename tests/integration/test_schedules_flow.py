"""Phase 2 step 6 end to end: a scheduled task fires in the local cloud when the tick is driven.

The rule is fired on demand (the local cloud's rule loop is off in tests). The scheduler uses the
current time but never one earlier than the event's, so firing the event at the task's
next_run_at (the coming minute) makes that slot due without waiting for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx2 as httpx
import pytest

from agent_tasks.settings import get_settings
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


@pytest.fixture
def claim_when_due(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This flow claims the slot when it is due: with the lookahead on, the second tick would claim
    the next minute's slot ahead (its flow: test_schedule_lookahead_flow.py)."""
    monkeypatch.setenv("SCHEDULE_LOOKAHEAD_SECONDS", "0")
    get_settings.cache_clear()
    try:
        yield
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


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
