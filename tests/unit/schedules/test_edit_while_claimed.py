"""An owner's edit of the schedule while the scheduler has a slot claimed (between the claim and its
finish): the claimed slot runs once, the claim is finished against the schedule as the owner left
it, and nothing is re-queued tick after tick.

Before this was fixed the claim's finish compared next_run_at with the value the claim had written;
the edit had changed it, so the finish failed, the claim stayed, and every tick after the lease
took the slot up again (for ever when the edit left no next_run_at; a one-time task whose run_at
was moved ended its schedule without running the new slot)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent_tasks.adapters import InMemoryWorkflows
from agent_tasks.models.tasks import TaskUpdate
from agent_tasks.schedules import slot_execution_id
from agent_tasks.services import executions as execution_service
from agent_tasks.services import tasks as task_service
from agent_tasks.services.scheduler import tick
from tests.support.schedules import (
    CALLER,
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


@pytest.fixture(autouse=True)
def owner_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The owner's edits happen 10 s into the 09:00 slot (the tasks service reads this clock)."""
    monkeypatch.setattr(task_service, "utc_now", lambda: T0 + timedelta(seconds=10))


def _edit_while_starting(monkeypatch: pytest.MonkeyPatch, edit: Callable[[], object]) -> None:
    """The owner's `edit` lands once, while the claimed slot's execution is being started (after
    the claim, before its finish)."""
    original = execution_service.create_and_start
    done = {"edited": False}

    def starting_then_edited(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if not done["edited"]:
            done["edited"] = True
            edit()
        return result

    monkeypatch.setattr(execution_service, "create_and_start", starting_then_edited)


def _schedule_paused(task_id: str) -> list[dict[str, Any]]:
    return [
        event
        for event in audit_actions()
        if event["action"] == "task.schedule_paused" and event["resource_id"] == task_id
    ]


def test_a_cron_edit_while_a_slot_is_claimed_finishes_the_claim_at_the_new_schedule(
    workflows: InMemoryWorkflows, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a task due every five minutes, and its owner changing it to every ten while the 09:00
    # slot is being started
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE)
    update = TaskUpdate(schedule_cron="*/10 * * * *")
    _edit_while_starting(
        monkeypatch, lambda: task_service.update_task(CALLER, task.id, update, if_match=None)
    )
    # When the 09:00 tick runs
    summary = tick(T0, rule=RULE)
    # Then the 09:00 slot started once, and its claim is finished: the task is due at 09:10 (the
    # owner's schedule), not at the 09:05 the claim had written
    assert (summary.started, summary.errors) == (1, 0)
    item = stored_item(task.id)
    assert "pending_slot" not in item
    assert item["next_run_at"] == "2026-03-02T09:10:00Z"
    assert item["GSI2SK"].startswith("2026-03-02T09:10:00Z#")
    # And no tick before 09:10 (the lease's end included) takes the slot up again
    for minute in range(1, 10):
        later = tick(T0 + minute * MINUTE, rule=RULE)
        assert (later.due, later.recovered, later.started) == (0, 0, 0), (minute, later)
    # And 09:10 runs as the new schedule says: one execution per slot, one workflow each
    assert tick(T0 + 10 * MINUTE, rule=RULE).started == 1
    ids = [execution.id for execution in executions_of(task.id)]
    assert ids == [slot_execution_id(task.id, T0), slot_execution_id(task.id, T0 + 10 * MINUTE)]
    assert sorted(workflows.started) == sorted(ids)


def test_an_edit_that_ends_the_window_while_a_slot_is_claimed_ends_the_schedule_once(
    workflows: InMemoryWorkflows, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a task due every five minutes, and its owner ending the schedule at 09:02 while the 09:00
    # slot is being started (so no slot is left: next_run_at goes)
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE)
    update = TaskUpdate(schedule_end_at=T0 + 2 * MINUTE)
    _edit_while_starting(
        monkeypatch, lambda: task_service.update_task(CALLER, task.id, update, if_match=None)
    )
    # When the 09:00 tick runs, and ticks every minute after it past the claim's lease
    first = tick(T0, rule=RULE)
    later = [tick(T0 + minute * MINUTE, rule=RULE) for minute in range(1, 6)]
    # Then the 09:00 slot started once, and its finish ended the schedule, saying why
    assert (first.started, first.errors) == (1, 0)
    item = stored_item(task.id)
    assert "pending_slot" not in item
    assert "GSI2PK" not in item
    assert item["schedule_enabled"] is False
    assert item["schedule_paused_reason"].startswith("ended: the last slot before schedule_end_at")
    assert len(_schedule_paused(task.id)) == 1
    # And no later tick took the slot up again (it used to, every tick after the lease, for ever)
    assert [(s.due, s.recovered) for s in later] == [(0, 0)] * 5
    assert [e.id for e in executions_of(task.id)] == [slot_execution_id(task.id, T0)]


def test_a_run_at_moved_while_its_slot_is_claimed_runs_both_slots_then_ends(
    workflows: InMemoryWorkflows, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a one-time task at 09:00, and its owner moving run_at to tomorrow while the 09:00 slot is
    # being started
    task = one_time_task(T0, created=T0 - timedelta(hours=1))
    tomorrow = T0 + timedelta(days=1)
    update = TaskUpdate(run_at=tomorrow)
    _edit_while_starting(
        monkeypatch, lambda: task_service.update_task(CALLER, task.id, update, if_match=None)
    )
    # When the 09:00 tick runs, and ticks after the claim's lease
    assert tick(T0, rule=RULE).started == 1
    later = [tick(T0 + minute * MINUTE, rule=RULE) for minute in range(1, 4)]
    # Then the claim is finished and the schedule is still on, due tomorrow (the owner's new slot)
    assert [(s.recovered, s.paused) for s in later] == [(0, 0)] * 3
    item = stored_item(task.id)
    assert "pending_slot" not in item
    assert item["schedule_enabled"] is True
    assert item["next_run_at"] == "2026-03-03T09:00:00Z"
    assert item["GSI2SK"].startswith("2026-03-03T09:00:00Z#")
    assert _schedule_paused(task.id) == []
    # When tomorrow's tick runs
    assert tick(tomorrow, rule=RULE).started == 1
    # Then that slot ran too, and then the one-time schedule ended, saying so
    item = stored_item(task.id)
    assert item["schedule_enabled"] is False
    assert item["schedule_paused_reason"] == (
        "ended: the one-time slot at run_at (2026-03-03T09:00:00+00:00) has run"
    )
    assert [e.id for e in executions_of(task.id)] == [
        slot_execution_id(task.id, T0),
        slot_execution_id(task.id, tomorrow),
    ]


def test_a_crashed_claim_edited_before_the_lease_ends_runs_once_at_recovery(
    workflows: InMemoryWorkflows, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the 09:00 tick claimed the slot and crashed before writing the execution
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE)
    fail_once(monkeypatch, execution_service, "create_and_start")
    assert tick(T0, rule=RULE).errors == 1
    # When the owner changes the schedule to every ten minutes meanwhile
    task_service.update_task(CALLER, task.id, TaskUpdate(schedule_cron="*/10 * * * *"), if_match=None)
    # Then the slot is still owed: a tick after the lease runs it, once, and the claim is finished
    # at the owner's schedule
    recovered = tick(T0 + 2 * MINUTE, rule=RULE)
    assert (recovered.recovered, recovered.started, recovered.errors) == (1, 1, 0)
    item = stored_item(task.id)
    assert "pending_slot" not in item
    assert item["next_run_at"] == "2026-03-02T09:10:00Z"
    assert item["GSI2SK"].startswith("2026-03-02T09:10:00Z#")
    assert tick(T0 + 3 * MINUTE, rule=RULE).recovered == 0
    assert [e.id for e in executions_of(task.id)] == [slot_execution_id(task.id, T0)]


def test_disabling_a_claimed_schedule_drops_the_claim_so_enabling_it_again_owes_no_old_slot(
    workflows: InMemoryWorkflows, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the 09:00 tick claimed the slot and crashed before writing the execution
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE)
    fail_once(monkeypatch, execution_service, "create_and_start")
    assert tick(T0, rule=RULE).errors == 1
    # When the owner turns the schedule off, and on again later
    task_service.update_task(CALLER, task.id, TaskUpdate(schedule_enabled=False), if_match=None)
    later = T0 + timedelta(hours=3)
    monkeypatch.setattr(task_service, "utc_now", lambda: later)
    task_service.update_task(CALLER, task.id, TaskUpdate(schedule_enabled=True), if_match=None)
    # Then the schedule resumes at its next slot, and the 09:00 slot (claimed before the pause) is
    # not run hours late
    item = stored_item(task.id)
    assert "pending_slot" not in item
    assert item["next_run_at"] == "2026-03-02T12:05:00Z"
    assert tick(later + MINUTE, rule=RULE).due == 0
    assert executions_of(task.id) == []
