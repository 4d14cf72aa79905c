"""Start and end dates and the catch-up window: pure rules, the tick, and the API's validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent_tasks.adapters import InMemoryWorkflows
from agent_tasks.schedules.windows import next_fire_in_window, too_late_to_catch_up, window_ended
from agent_tasks.services.scheduler import tick
from agent_tasks.store import tasks as task_store
from tests.support.api_calls import Api, valid_task
from tests.support.fixtures import LambdaClient
from tests.support.schedules import audit_actions, executions_of, scheduled_task

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
RULE = "agent-tasks-scheduler-tick-test"


def test_fire_times_keep_inside_the_window() -> None:
    start, end = T0 + timedelta(days=2), T0 + timedelta(days=4, hours=1)
    # Before the window: its first slot; inside: the next; past its end: none
    assert next_fire_in_window("0 9 * * *", "UTC", after=T0, start_at=start, end_at=end) == start
    assert next_fire_in_window(
        "0 9 * * *", "UTC", after=start, start_at=start, end_at=end
    ) == start + timedelta(days=1)
    assert next_fire_in_window("0 9 * * *", "UTC", after=end, start_at=start, end_at=end) is None
    assert window_ended(None, end)
    assert window_ended(end + MINUTE, end)
    assert not window_ended(end, end)
    assert not window_ended(None, None)


def test_the_catch_up_window() -> None:
    assert too_late_to_catch_up(T0, T0 + timedelta(seconds=301), 300)
    assert not too_late_to_catch_up(T0, T0 + timedelta(seconds=300), 300)
    assert not too_late_to_catch_up(T0, T0 + timedelta(days=9), None)


def test_a_slot_reached_after_the_catch_up_window_is_skipped_and_recorded(
    workflows: InMemoryWorkflows,
) -> None:
    # Given a task due at 09:00 that may catch up 5 minutes late at most
    task = scheduled_task("0 9 * * *", created=T0 - MINUTE, catchup_window_seconds=300)
    # When the scheduler reaches it only at 09:10 (it was down)
    summary = tick(T0 + 10 * MINUTE, rule=RULE)
    # Then nothing ran, the skip is recorded, and the schedule moved on to tomorrow
    assert (summary.started, summary.skipped_missed) == (0, 1)
    assert executions_of(task.id) == []
    skips = [e for e in audit_actions() if e["action"] == "schedule.slot_skipped"]
    assert [s["details"]["reason"] for s in skips] == ["catchup_window"]
    stored = task_store.get(task.id)
    assert stored is not None
    assert stored.next_run_at == T0 + timedelta(days=1)
    assert stored.pending_slot is None


def test_a_slot_within_the_catch_up_window_still_runs(workflows: InMemoryWorkflows) -> None:
    task = scheduled_task("0 9 * * *", created=T0 - MINUTE, catchup_window_seconds=300)
    assert tick(T0 + 4 * MINUTE, rule=RULE).started == 1
    assert len(executions_of(task.id)) == 1


def test_the_schedule_disables_itself_after_its_last_slot_saying_why(workflows: InMemoryWorkflows) -> None:
    # Given a five-minute schedule that ends at 09:07
    task = scheduled_task(
        "*/5 * * * *", created=T0 - MINUTE, schedule_end_at=T0 + 7 * MINUTE, overlap_policy="allow"
    )
    # When the 09:00 and 09:05 ticks run
    assert tick(T0, rule=RULE).started == 1
    last = tick(T0 + 5 * MINUTE, rule=RULE)
    # Then both slots ran, and after the last one the schedule is off with its reason
    assert (last.started, last.paused) == (1, 1)
    assert len(executions_of(task.id)) == 2
    stored = task_store.get(task.id)
    assert stored is not None
    assert stored.schedule_enabled is False
    assert stored.schedule_paused_reason is not None
    assert "schedule_end_at" in stored.schedule_paused_reason
    assert tick(T0 + 10 * MINUTE, rule=RULE).due == 0


@pytest.fixture
def alice(api: LambdaClient) -> Api:
    return Api(api, "alice")


def _fields(payload: dict[str, Any]) -> list[str]:
    return [".".join(str(p) for p in d["loc"]) for d in payload["error"]["details"]]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            {"schedule_start_at": "2030-01-02T00:00:00Z", "schedule_end_at": "2030-01-01T00:00:00Z"},
            "body.schedule_end_at",
        ),
        ({"schedule_start_at": "2030-01-02T00:00:00"}, "body.schedule_start_at"),
        ({"catchup_window_seconds": 59}, "body.catchup_window_seconds"),
        ({"catchup_window_seconds": 2_678_401}, "body.catchup_window_seconds"),
    ],
)
def test_window_fields_are_validated_with_a_422_naming_the_field(
    alice: Api, overrides: dict[str, Any], field: str
) -> None:
    body = valid_task(is_scheduled=True, schedule_cron="0 9 * * *", **overrides)
    status, error, _ = alice.call("POST", "/api/v1/tasks", body)
    assert status == 422, error
    assert field in _fields(error)


def test_next_run_and_preview_start_at_the_window(alice: Api) -> None:
    # Given a daily task whose schedule starts in 2030 and ends three days later
    body = valid_task(
        is_scheduled=True,
        schedule_cron="0 9 * * *",
        schedule_start_at="2030-01-01T00:00:00Z",
        schedule_end_at="2030-01-03T12:00:00Z",
    )
    status, task, _ = alice.call("POST", "/api/v1/tasks", body)
    assert status == 201, task
    # Then its next run is the window's first slot, and the preview lists only the window's slots
    assert task["next_run_at"] == "2030-01-01T09:00:00Z"
    _, preview, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/preview", {})
    assert preview["next_fire_times"] == [
        "2030-01-01T09:00:00Z",
        "2030-01-02T09:00:00Z",
        "2030-01-03T09:00:00Z",
    ]


def test_the_schedule_disables_itself_after_max_runs_saying_why(workflows: InMemoryWorkflows) -> None:
    # Given a five-minute schedule allowed two runs
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE, max_runs=2, overlap_policy="allow")
    # When three ticks run
    assert tick(T0, rule=RULE).started == 1
    second = tick(T0 + 5 * MINUTE, rule=RULE)
    # Then two slots ran and the schedule turned itself off after the second, saying why
    assert (second.started, second.paused) == (1, 1)
    assert tick(T0 + 10 * MINUTE, rule=RULE).due == 0
    assert len(executions_of(task.id)) == 2
    stored = task_store.get(task.id)
    assert stored is not None
    assert (stored.schedule_enabled, stored.scheduled_runs) == (False, 2)
    assert stored.schedule_paused_reason == "ended: max_runs (2) scheduled runs have started"


def test_a_skipped_slot_is_not_a_run(workflows: InMemoryWorkflows) -> None:
    # Given a task allowed two runs whose first run is still going (skip policy)
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE, max_runs=2)
    tick(T0, rule=RULE)
    # When the next slot is skipped for the overlap, Then it does not count
    assert tick(T0 + 5 * MINUTE, rule=RULE).skipped_overlap == 1
    stored = task_store.get(task.id)
    assert stored is not None
    assert (stored.schedule_enabled, stored.scheduled_runs) == (True, 1)


def test_max_runs_is_validated(alice: Api) -> None:
    body = valid_task(is_scheduled=True, schedule_cron="0 9 * * *", max_runs=0)
    status, error, _ = alice.call("POST", "/api/v1/tasks", body)
    assert (status, _fields(error)) == (422, ["body.max_runs"])
