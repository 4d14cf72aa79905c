"""One-time schedules (`run_at`) and the `cancel_other` overlap policy: the API's validation, the
tick's single slot and the end that follows it, and a due slot cancelling the run still going."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent_tasks.adapters import InMemoryWorkflows
from agent_tasks.schedules import slot_execution_id
from agent_tasks.services import scheduler as scheduler_module
from agent_tasks.services.scheduler import tick
from agent_tasks.store import executions as execution_store
from agent_tasks.store import tasks as task_store
from tests.support.api_calls import Api, valid_task
from tests.support.fixtures import LambdaClient
from tests.support.schedules import (
    audit_actions,
    executions_of,
    fail_once,
    one_time_task,
    scheduled_task,
    stored_item,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
RULE = "agent-tasks-scheduler-tick-test"


@pytest.fixture
def alice(api: LambdaClient, workflows: InMemoryWorkflows) -> Api:
    return Api(api, "alice")


def _fields(payload: dict[str, Any]) -> list[str]:
    return [".".join(str(p) for p in d["loc"]) for d in payload["error"]["details"]]


# -- run_at through the API ---------------------------------------------------------------------------


def test_a_one_time_task_is_due_at_its_instant_and_previews_it(alice: Api) -> None:
    # Given a task that runs once, at an instant given with its offset
    body = valid_task(is_scheduled=True, run_at="2030-07-01T09:00:00+02:00")
    # When it is created
    status, task, _ = alice.call("POST", "/api/v1/tasks", body)
    # Then it is scheduled at that instant, said in words, and the preview shows that one fire time
    assert status == 201, task
    assert (task["is_scheduled"], task["schedule_cron"]) == (True, None)
    assert task["next_run_at"] == "2030-07-01T07:00:00Z"
    assert task["schedule_description"] == "Once, at 2030-07-01T09:00:00+02:00"
    _, preview, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/preview", {})
    assert preview["next_fire_times"] == ["2030-07-01T07:00:00Z"]


def test_a_local_run_at_is_read_in_the_tasks_time_zone(alice: Api) -> None:
    # Given a local date-time without an offset and the task's zone
    body = valid_task(is_scheduled=True, run_at="2030-07-01T09:00", schedule_timezone="Europe/Paris")
    status, task, _ = alice.call("POST", "/api/v1/tasks", body)
    # Then it is 09:00 in Paris (summer time, +02:00)
    assert status == 201, task
    assert task["run_at"] == "2030-07-01T09:00:00+02:00"
    assert task["next_run_at"] == "2030-07-01T07:00:00Z"
    _, preview, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/preview", {})
    assert preview["next_fire_times"] == ["2030-07-01T09:00:00+02:00"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"run_at": "2030-07-01T09:00:00Z", "schedule_cron": "0 9 * * *"}, "body.schedule_cron"),
        ({"run_at": "2020-07-01T09:00:00Z"}, "body.run_at"),
        # 02:30 does not exist in Paris on 2030-03-31 (the clocks go from 02:00 to 03:00)
        ({"run_at": "2030-03-31T02:30", "schedule_timezone": "Europe/Paris"}, "body.run_at"),
        ({"run_at": "not a time"}, "body.run_at"),
        ({"run_at": "2030-07-01T09:00:30Z"}, "body.run_at"),  # not a whole minute
        # out of the scheduler's range (before: OverflowError, a 500)
        ({"run_at": "9999-12-31T23:59:00-01:00"}, "body.run_at"),
        ({"run_at": "9999-12-31T23:59", "schedule_timezone": "America/New_York"}, "body.run_at"),
        ({"run_at": "0001-01-01T00:00", "schedule_timezone": "Asia/Tokyo"}, "body.run_at"),
        ({}, "body.schedule_cron"),  # scheduled with neither a cron nor a run_at
    ],
)
def test_run_at_is_validated_with_a_422_naming_the_field(
    alice: Api, overrides: dict[str, Any], field: str
) -> None:
    body = valid_task(is_scheduled=True, **overrides)
    status, error, _ = alice.call("POST", "/api/v1/tasks", body)
    assert status == 422, error
    assert field in _fields(error), error


def test_patching_run_at(alice: Api) -> None:
    # Given a cron task
    body = valid_task(is_scheduled=True, schedule_cron="0 9 * * *")
    _, task, _ = alice.call("POST", "/api/v1/tasks", body)
    path = f"/api/v1/tasks/{task['id']}"
    # When run_at is sent while the cron stays, Then 422 names run_at and says what to do
    status, error, _ = alice.call("PATCH", path, {"run_at": "2030-07-01T09:00:00Z"})
    assert (status, _fields(error)) == (422, ["body.run_at"]), error
    assert "schedule_cron: null" in error["error"]["details"][0]["msg"]
    # And a past run_at is refused
    status, error, _ = alice.call("PATCH", path, {"run_at": "2020-07-01T09:00:00Z", "schedule_cron": None})
    assert (status, _fields(error)) == (422, ["body.run_at"]), error
    # When the cron is swapped for a future run_at, Then the task is due then
    status, patched, _ = alice.call("PATCH", path, {"run_at": "2030-07-01T09:00:00Z", "schedule_cron": None})
    assert status == 200, patched
    assert patched["next_run_at"] == "2030-07-01T09:00:00Z"


# -- run_at through the scheduler ---------------------------------------------------------------------


def test_a_one_time_slot_runs_once_then_the_schedule_disables_itself_saying_why(
    workflows: InMemoryWorkflows,
) -> None:
    # Given a task to run once at 09:01
    run_at = T0 + MINUTE
    task = one_time_task(run_at, created=T0 - MINUTE)
    # When the 09:00 tick runs, nothing is due yet; at 09:01 the slot runs
    assert tick(T0, rule=RULE).due == 0
    summary = tick(T0 + MINUTE, rule=RULE)
    # Then one execution started, under the slot's deterministic id, with the slot in its metadata
    assert (summary.started, summary.paused, summary.errors) == (1, 1, 0)
    [execution] = executions_of(task.id)
    assert execution.id == slot_execution_id(task.id, run_at)
    assert (execution.trigger_type, execution.trigger_metadata["slot"]) == ("scheduled", run_at.isoformat())
    assert workflows.started == [execution.id]
    # And the schedule is off, saying why, out of the due index
    stored = task_store.get(task.id)
    assert stored is not None
    assert (stored.schedule_enabled, stored.next_run_at, stored.pending_slot) == (False, None, None)
    assert (
        stored.schedule_paused_reason == f"ended: the one-time slot at run_at ({run_at.isoformat()}) has run"
    )
    assert "GSI2PK" not in stored_item(task.id)
    assert "task.schedule_paused" in [event["action"] for event in audit_actions()]
    # And later ticks run nothing more
    assert tick(T0 + 2 * MINUTE, rule=RULE).due == 0
    assert len(executions_of(task.id)) == 1


def test_a_one_time_slot_follows_the_overlap_policy(workflows: InMemoryWorkflows) -> None:
    # Given a one-time task under skip whose earlier (run-now) run is still going
    task = one_time_task(T0, created=T0 - MINUTE)
    _running_execution(task.id)
    # When its slot comes
    summary = tick(T0, rule=RULE)
    # Then the slot is skipped, and the schedule ends saying so
    assert (summary.started, summary.skipped_overlap) == (0, 1)
    stored = task_store.get(task.id)
    assert stored is not None
    assert stored.schedule_paused_reason == (
        f"ended: the one-time slot at run_at ({T0.isoformat()}) was skipped: an earlier run was still going"
    )


def test_a_one_time_schedule_whose_end_did_not_happen_is_ended_by_the_next_tick(
    workflows: InMemoryWorkflows, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a one-time slot that ran, and a crash just before its schedule was disabled
    task = one_time_task(T0, created=T0 - MINUTE)
    fail_once(monkeypatch, scheduler_module, "pause_schedule")
    assert tick(T0, rule=RULE).errors == 1
    assert len(executions_of(task.id)) == 1
    # When the next tick runs, Then it ends the schedule and runs nothing more
    later = tick(T0 + MINUTE, rule=RULE)
    assert (later.started, later.paused) == (0, 1)
    stored = task_store.get(task.id)
    assert stored is not None
    assert stored.schedule_enabled is False
    assert len(executions_of(task.id)) == 1


# -- cancel_other --------------------------------------------------------------------------------------


def _running_execution(task_id: str, *, slot: datetime | None = None) -> str:
    """An execution of the task that is running (its workflow started in moto)."""
    task = task_store.get(task_id)
    assert task is not None
    from agent_tasks.services import executions as execution_service
    from agent_tasks.services.actor import Actor

    execution = execution_service.create_and_start(
        task, {}, trigger_type="manual", actor=Actor(user_id=task.owner_id), now=slot or T0 - MINUTE
    )
    execution_store.update(execution.id, {"status": "running", "started_at": (T0 - MINUTE).isoformat()})
    return execution.id


def test_a_due_slot_cancels_the_run_still_going_and_starts(workflows: InMemoryWorkflows) -> None:
    # Given a five-minute task under cancel_other whose 09:00 run is still running at 09:05
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE, overlap_policy="cancel_other")
    assert tick(T0, rule=RULE).started == 1
    first = slot_execution_id(task.id, T0)
    execution_store.update(first, {"status": "running", "started_at": T0.isoformat()})
    # When the 09:05 slot is due
    summary = tick(T0 + 5 * MINUTE, rule=RULE)
    # Then the 09:00 run is cancelled as a user's cancel would end it, and the 09:05 run starts
    assert (summary.started, summary.skipped_overlap) == (1, 0)
    cancelled = execution_store.get(first)
    assert cancelled is not None
    assert cancelled.status == "cancelled"
    assert cancelled.error_message is not None
    assert "cancel_other" in cancelled.error_message
    second = slot_execution_id(task.id, T0 + 5 * MINUTE)
    assert sorted(workflows.started) == sorted([first, second])
    assert workflows.stopped == [first]  # the 09:00 run's workflow was stopped
    # And the audit trail says which run the slot cancelled
    [event] = [e for e in audit_actions() if e["action"] == "schedule.overlap_cancelled"]
    assert event["details"]["cancelled_execution_ids"] == [first]
    # And the task's scheduled failures are not counted for a cancel
    stored = task_store.get(task.id)
    assert stored is not None
    assert stored.consecutive_failures == 0


def test_a_due_slot_under_cancel_other_with_nothing_running_just_starts(workflows: InMemoryWorkflows) -> None:
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE, overlap_policy="cancel_other")
    assert tick(T0, rule=RULE).started == 1
    execution_store.update(slot_execution_id(task.id, T0), {"status": "completed"})
    assert tick(T0 + 5 * MINUTE, rule=RULE).started == 1
    assert [e for e in audit_actions() if e["action"] == "schedule.overlap_cancelled"] == []


def test_run_now_under_cancel_other_cancels_the_run_still_going(alice: Api) -> None:
    body = valid_task(is_scheduled=True, schedule_cron="0 9 * * *", overlap_policy="cancel_other")
    _, task, _ = alice.call("POST", "/api/v1/tasks", body)
    status, first, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/run-now")
    assert status == 202, first
    status, second, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/run-now")
    assert status == 202, second
    ended = execution_store.get(first["id"])
    assert ended is not None
    assert ended.status == "cancelled"
