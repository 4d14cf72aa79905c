"""The scheduler's tick against moto, with an injected clock: exactly once, time zones, policies."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from agent_tasks.adapters import InMemoryWorkflows
from agent_tasks.models.tasks import PendingSlot, TaskUpdate
from agent_tasks.schedules import slot_execution_id
from agent_tasks.services import executions as execution_service
from agent_tasks.services import tasks as task_service
from agent_tasks.services.scheduler import TickSummary, tick
from agent_tasks.store import executions as execution_store
from agent_tasks.store import schedules as schedule_store
from agent_tasks.store import tasks as task_store
from tests.support.schedules import (
    CALLER,
    audit_actions,
    audit_event,
    executions_of,
    fail_once,
    scheduled_task,
    serialize_moto_requests,
    stored_item,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULE = "agent-tasks-scheduler-tick-test"
MINUTE = timedelta(minutes=1)


def _ticks_at_once(now: datetime, count: int) -> list[TickSummary]:
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: tick(now, rule=RULE), range(count)))


# -- exactly once ------------------------------------------------------------------------------------


@pytest.mark.parametrize("concurrent_ticks", [2, 8])
def test_concurrent_ticks_start_exactly_one_execution_per_slot(
    workflows: InMemoryWorkflows, monkeypatch: pytest.MonkeyPatch, concurrent_ticks: int
) -> None:
    serialize_moto_requests(monkeypatch)
    # Given five tasks due every minute (overlap allowed, so every slot must start)
    tasks = [scheduled_task("* * * * *", created=T0 - MINUTE, overlap_policy="allow") for _ in range(5)]
    slots = [T0 + k * MINUTE for k in range(4)]
    for slot in slots:
        # When several ticks run at once, at each of four slots
        summaries = _ticks_at_once(slot, concurrent_ticks)
        # Then, per slot, the ticks together started each task once
        assert sum(s.started for s in summaries) == len(tasks), summaries
        assert sum(s.errors for s in summaries) == 0
    # And each task has exactly one execution per slot, named by the slot
    for task in tasks:
        executions = executions_of(task.id)
        assert len(executions) == len(slots)
        assert {e.id for e in executions} == {slot_execution_id(task.id, slot) for slot in slots}
        assert all(e.trigger_type == "scheduled" for e in executions)
        assert sorted(e.trigger_metadata["slot"] for e in executions) == [s.isoformat() for s in slots]
        assert {e.trigger_metadata["rule"] for e in executions} == {RULE}
    # And exactly one workflow per execution
    names = workflows.started
    assert len(names) == len(tasks) * len(slots)
    assert len(set(names)) == len(names)


def test_an_execution_carries_the_slot_the_rule_and_the_schedule_moves_on(
    workflows: InMemoryWorkflows,
) -> None:
    # Given a task due at 09:00
    task = scheduled_task("0 9 * * *", created=T0 - MINUTE)
    # When the 09:00 tick runs
    summary = tick(T0 + timedelta(seconds=7), rule=RULE)
    # Then one scheduled execution holds the slot and the rule, and next_run_at is tomorrow 09:00
    assert (summary.due, summary.started, summary.skipped_missed) == (1, 1, 0)
    [execution] = executions_of(task.id)
    assert execution.trigger_metadata == {"slot": T0.isoformat(), "rule": RULE, "skipped_missed_slots": 0}
    assert execution.created_by == "system:scheduler"
    item = stored_item(task.id)
    assert item["next_run_at"] == "2026-03-03T09:00:00Z"
    assert item["GSI2SK"].startswith("2026-03-03T09:00:00Z#")
    assert "pending_slot" not in item
    # And a tick a minute later finds nothing due
    assert tick(T0 + MINUTE, rule=RULE).due == 0


# -- crash safety ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("owner", "name"),
    [
        (execution_service, "create_and_start"),  # after the claim, before the execution is written
        (execution_service, "_start_workflow"),  # after the write, before StartExecution
        (schedule_store, "finish_slot"),  # after StartExecution, before the claim is cleared
    ],
)
def test_a_crash_between_steps_loses_no_slot_and_starts_none_twice(
    workflows: InMemoryWorkflows, monkeypatch: pytest.MonkeyPatch, owner: object, name: str
) -> None:
    # Given a task due every five minutes and a crash injected at one step of the 09:00 tick
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE)
    fail_once(monkeypatch, owner, name)
    # When the 09:00 tick crashes there
    assert tick(T0, rule=RULE).errors == 1
    # Then the claim is left on the task, which stays in the due index at 09:00
    item = stored_item(task.id)
    assert item["pending_slot"]["slot"] == "2026-03-02T09:00:00Z"
    assert item["GSI2SK"].startswith("2026-03-02T09:00:00Z#")
    # And a tick within the claim's lease leaves it to its (possibly live) owner
    assert tick(T0 + MINUTE, rule=RULE).claimed_elsewhere == 1
    # When a tick after the lease runs, and another after it
    recovered = tick(T0 + 2 * MINUTE, rule=RULE)
    tick(T0 + 3 * MINUTE, rule=RULE)
    # Then the 09:00 slot has exactly one execution and one workflow, and the schedule moved on
    assert recovered.recovered == 1
    [execution] = executions_of(task.id)
    assert execution.id == slot_execution_id(task.id, T0)
    assert workflows.started == [execution.id]
    item = stored_item(task.id)
    assert "pending_slot" not in item
    assert item["next_run_at"] == "2026-03-02T09:05:00Z"
    assert item["GSI2SK"].startswith("2026-03-02T09:05:00Z#")


def test_a_slot_planned_again_after_a_stale_write_is_still_one_execution(
    workflows: InMemoryWorkflows,
) -> None:
    # Given the 09:00 slot already started
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE, overlap_policy="allow")
    tick(T0, rule=RULE)
    # When a stale write puts next_run_at back to 09:00 and a tick plans that slot again
    stored = task_store.get(task.id)
    assert stored is not None
    stale = stored.model_copy(update={"next_run_at": T0, "version": stored.version + 1})
    task_store.replace(stored, stale, audit_event(task.id))
    summary = tick(T0 + timedelta(seconds=30), rule=RULE)
    # Then the slot's deterministic id makes the second attempt a no-op: one execution, one workflow
    assert summary.errors == 0
    assert len(executions_of(task.id)) == 1
    assert len(workflows.started) == 1
    assert stored_item(task.id)["next_run_at"] == "2026-03-02T09:05:00Z"


# -- time zones and daylight saving ------------------------------------------------------------------


def _tick_every(start: datetime, end: datetime, step: timedelta) -> list[TickSummary]:
    summaries = []
    now = start
    while now <= end:
        summaries.append(tick(now, rule=RULE))
        now += step
    return summaries


def test_a_0230_new_york_task_runs_once_on_the_spring_forward_day(workflows: InMemoryWorkflows) -> None:
    # Given a task at 02:30 New York time, a wall time that does not exist on 2026-03-08
    task = scheduled_task(
        "30 2 * * *",
        created=datetime(2026, 3, 7, 12, 0, tzinfo=UTC),
        timezone="America/New_York",
        overlap_policy="allow",
    )
    # When the scheduler ticks every 30 minutes from 7 March to 10 March (UTC)
    summaries = _tick_every(
        datetime(2026, 3, 7, 12, 0, tzinfo=UTC), datetime(2026, 3, 10, 12, 0, tzinfo=UTC), 30 * MINUTE
    )
    # Then it ran once a day (the 7th's slot was before it was created): on the 8th once, at
    # 03:00 EDT, the first instant after the gap; on the 9th and 10th at 02:30 EDT
    slots = [e.trigger_metadata["slot"] for e in executions_of(task.id)]
    assert slots == [
        "2026-03-08T07:00:00+00:00",
        "2026-03-09T06:30:00+00:00",
        "2026-03-10T06:30:00+00:00",
    ]
    assert sum(s.skipped_missed for s in summaries) == 0


def test_a_0130_new_york_task_runs_once_on_the_fall_back_day(workflows: InMemoryWorkflows) -> None:
    # Given a task at 01:30 New York time, a wall time that happens twice on 2026-11-01
    task = scheduled_task(
        "30 1 * * *",
        created=datetime(2026, 10, 31, 12, 0, tzinfo=UTC),
        timezone="America/New_York",
        overlap_policy="allow",
    )
    # When the scheduler ticks every 30 minutes across the transition
    _tick_every(
        datetime(2026, 10, 31, 12, 0, tzinfo=UTC), datetime(2026, 11, 2, 12, 0, tzinfo=UTC), 30 * MINUTE
    )
    # Then it ran once on the 1st, at the first 01:30 (EDT), and at 01:30 EST on the 2nd
    slots = [e.trigger_metadata["slot"] for e in executions_of(task.id)]
    assert slots == ["2026-11-01T05:30:00+00:00", "2026-11-02T06:30:00+00:00"]


# -- policies ----------------------------------------------------------------------------------------


def test_overlap_skip_skips_a_slot_while_the_previous_run_is_going_and_records_it(
    workflows: InMemoryWorkflows,
) -> None:
    # Given a task every five minutes with overlap_policy skip, whose 09:00 run is still pending
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE, overlap_policy="skip")
    assert tick(T0, rule=RULE).started == 1
    # When the 09:05 tick runs
    summary = tick(T0 + 5 * MINUTE, rule=RULE)
    # Then the slot is skipped (counted, audited) and the schedule still moves on
    assert (summary.started, summary.skipped_overlap) == (0, 1)
    assert len(executions_of(task.id)) == 1
    assert stored_item(task.id)["next_run_at"] == "2026-03-02T09:10:00Z"
    skips = [a for a in audit_actions() if a["action"] == "schedule.slot_skipped"]
    assert [(a["resource_id"], a["details"]["reason"], a["details"]["slot"]) for a in skips] == [
        (task.id, "overlap", "2026-03-02T09:05:00+00:00")
    ]
    # When the first run ends and the 09:10 tick runs
    [first] = executions_of(task.id)
    execution_store.update(first.id, {"status": "completed"})
    # Then that slot starts
    assert tick(T0 + 10 * MINUTE, rule=RULE).started == 1
    assert len(executions_of(task.id)) == 2


def test_overlap_allow_starts_every_slot(workflows: InMemoryWorkflows) -> None:
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE, overlap_policy="allow")
    tick(T0, rule=RULE)
    summary = tick(T0 + 5 * MINUTE, rule=RULE)
    assert (summary.started, summary.skipped_overlap) == (1, 0)
    assert len(executions_of(task.id)) == 2


def test_after_an_outage_the_latest_missed_slot_runs_once_and_the_skip_is_recorded(
    workflows: InMemoryWorkflows,
) -> None:
    # Given a task every five minutes, due at 09:00, and no tick for an hour
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE)
    # When the first tick after the outage runs at 10:02
    summary = tick(T0 + timedelta(hours=1, minutes=2), rule=RULE)
    # Then only the 10:00 slot runs, once, and the twelve slots before it are recorded as skipped
    assert (summary.started, summary.skipped_missed) == (1, 12)
    [execution] = executions_of(task.id)
    assert execution.trigger_metadata["slot"] == "2026-03-02T10:00:00+00:00"
    assert execution.trigger_metadata["skipped_missed_slots"] == 12
    [skip] = [a for a in audit_actions() if a["action"] == "schedule.slot_skipped"]
    assert skip["details"] == {
        "reason": "missed",
        "slot": "2026-03-02T10:00:00+00:00",
        "skipped_slots": 12,
        "rule": RULE,
    }
    assert stored_item(task.id)["next_run_at"] == "2026-03-02T10:05:00Z"


def test_a_deleted_task_stops_being_scheduled(workflows: InMemoryWorkflows) -> None:
    # Given a scheduled task
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE)
    # When its owner deletes it
    task_service.delete_task(CALLER, task.id, if_match=None)
    # Then it leaves the due index and no tick starts it
    assert "GSI2PK" not in stored_item(task.id)
    summaries = _tick_every(T0, T0 + 30 * MINUTE, 5 * MINUTE)
    assert sum(s.due for s in summaries) == 0
    assert executions_of(task.id) == []


def test_a_deactivated_task_stops_being_scheduled_and_a_reactivated_one_resumes(
    workflows: InMemoryWorkflows,
) -> None:
    # Given a scheduled task that has run once
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE, overlap_policy="allow")
    tick(T0, rule=RULE)
    # When its owner deactivates it
    task_service.update_task(CALLER, task.id, TaskUpdate(is_active=False), if_match=None)
    # Then no later tick starts it
    assert "GSI2PK" not in stored_item(task.id)
    assert sum(s.due for s in _tick_every(T0 + 5 * MINUTE, T0 + 30 * MINUTE, 5 * MINUTE)) == 0
    assert len(executions_of(task.id)) == 1
    # When it is activated again, it is back in the index at its next fire time and runs then
    reactivated = task_service.update_task(CALLER, task.id, TaskUpdate(is_active=True), if_match=None)
    assert reactivated.next_run_at is not None
    assert stored_item(task.id)["GSI2PK"].startswith("DUE#")
    assert tick(reactivated.next_run_at, rule=RULE).started == 1


def test_a_disabled_schedule_stops_and_a_tick_racing_the_disable_claims_nothing(
    workflows: InMemoryWorkflows,
) -> None:
    # Given a due task whose schedule its owner disables
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE)
    task_service.update_task(CALLER, task.id, TaskUpdate(schedule_enabled=False), if_match=None)
    # When a tick that read the old next_run_at tries to claim the slot
    claimed = schedule_store.advance_schedule(
        task.id,
        T0,
        T0 + 5 * MINUTE,
        PendingSlot(slot=T0, claimed_at=T0, rule=RULE),
    )
    # Then the condition fails and nothing starts
    assert claimed is False
    assert tick(T0, rule=RULE).due == 0
    assert executions_of(task.id) == []


def test_a_transient_conflict_writing_the_execution_keeps_the_claim(
    workflows: InMemoryWorkflows, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the execution's transaction is cancelled once for a reason that is not a failed condition
    from agent_tasks.store.dynamo import TransactionConflict

    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE)
    original = execution_store.create
    calls = {"n": 0}

    def conflicted_once(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            from agent_tasks.store.dynamo import raise_conflict

            try:
                raise TransactionConflict(["TransactionConflict", "None"])
            except TransactionConflict as conflict:
                raise_conflict(conflict.reasons, [])
        original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(execution_store, "create", conflicted_once)
    # When the 09:00 tick meets it
    assert tick(T0, rule=RULE).errors == 1
    # Then the slot is not counted as started: the claim stays, and a tick after the lease runs it once
    assert stored_item(task.id)["pending_slot"]["slot"] == "2026-03-02T09:00:00Z"
    assert executions_of(task.id) == []
    assert tick(T0 + 2 * MINUTE, rule=RULE).recovered == 1
    [execution] = executions_of(task.id)
    assert execution.id == slot_execution_id(task.id, T0)


def test_an_edit_while_a_slot_is_claimed_keeps_the_claim(
    workflows: InMemoryWorkflows, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the 09:00 tick claimed the slot and then crashed before writing the execution
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE)
    fail_once(monkeypatch, execution_service, "create_and_start")
    assert tick(T0, rule=RULE).errors == 1
    # When the owner edits the task's description meanwhile
    task_service.update_task(CALLER, task.id, TaskUpdate(description="edited"), if_match=None)
    # Then the claim survives the edit, and a tick after the lease still runs the slot, once
    assert stored_item(task.id)["pending_slot"]["slot"] == "2026-03-02T09:00:00Z"
    assert tick(T0 + 2 * MINUTE, rule=RULE).recovered == 1
    [execution] = executions_of(task.id)
    assert execution.id == slot_execution_id(task.id, T0)


def test_overlap_buffer_one_queues_one_slot_skips_the_next_and_starts_it_when_the_run_ends(
    workflows: InMemoryWorkflows,
) -> None:
    from agent_tasks.services.ending import end_execution

    # Given a task every five minutes with overlap_policy buffer_one (slots near the real clock, as a
    # queued run's time to live is measured against it when a run ends)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    t0 = now - timedelta(minutes=now.minute % 5) + 5 * MINUTE
    task = scheduled_task("*/5 * * * *", created=t0 - MINUTE, overlap_policy="buffer_one")
    assert tick(t0, rule=RULE).started == 1
    [first] = executions_of(task.id)
    first = execution_store.update(first.id, {"status": "running"}) or first  # as Prepare marks it
    # When the next slot is due while the first run is going
    tick(t0 + 5 * MINUTE, rule=RULE)
    # Then it is written queued (buffered), not started
    second = execution_store.get(slot_execution_id(task.id, t0 + 5 * MINUTE))
    assert second is not None
    assert second.status == "queued"
    assert second.trigger_metadata["buffered"] is True
    # When a third slot is due while one is buffered
    summary = tick(t0 + 10 * MINUTE, rule=RULE)
    # Then it is skipped and recorded as skipped
    assert summary.skipped_overlap == 1
    assert len(executions_of(task.id)) == 2
    skips = [a for a in audit_actions() if a["action"] == "schedule.slot_skipped"]
    assert [a["details"]["reason"] for a in skips] == ["overlap_buffer_full"]
    # When the first run ends
    assert end_execution(first, "completed") is not None
    # Then the buffered run starts (its workflow is started by its name)
    started = execution_store.get(second.id)
    assert started is not None
    assert started.status == "pending"
    assert second.id in workflows.started


def test_overlap_skip_counts_a_queued_run_as_going(workflows: InMemoryWorkflows) -> None:
    # Given a task limited to one run at a time, every five minutes, its first run going
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    t0 = now - timedelta(minutes=now.minute % 5) + 5 * MINUTE
    task = scheduled_task("*/5 * * * *", created=t0 - MINUTE, overlap_policy="allow", max_concurrent_runs=1)
    assert tick(t0, rule=RULE).started == 1  # the slot takes the task's one slot
    [first] = executions_of(task.id)
    execution_store.update(first.id, {"status": "running"})
    # When the next slot is due under allow, it is written queued (over the limit)
    tick(t0 + 5 * MINUTE, rule=RULE)
    assert sorted(e.status for e in executions_of(task.id)) == ["queued", "running"]
    # And when the policy is skip, the slot after it is skipped: the queued run counts as going
    task_service.update_task(CALLER, task.id, TaskUpdate(overlap_policy="skip"), if_match=None)
    summary = tick(t0 + 10 * MINUTE, rule=RULE)
    assert summary.skipped_overlap == 1
    assert len(executions_of(task.id)) == 2
