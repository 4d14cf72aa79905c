"""The schedule lookahead: the tick claims slots due within SCHEDULE_LOOKAHEAD_SECONDS and starts their
workflows at once, waiting (a Wait state) until the slot; what the slot's time decides is decided then
by the workflow's first step (services/slot_time.py begin_slot)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from agent_tasks.models.tasks import TaskUpdate
from agent_tasks.schedules import slot_execution_id
from agent_tasks.services import executions as execution_service
from agent_tasks.services import slot_time
from agent_tasks.services import tasks as task_service
from agent_tasks.services.actor import Actor
from agent_tasks.services.scheduler import tick
from agent_tasks.settings import get_settings
from agent_tasks.store import executions as execution_store
from agent_tasks.store import schedules as schedule_store
from agent_tasks.store import tasks as task_store
from tests.support.schedules import (
    OWNER,
    audit_actions,
    executions_of,
    fail_once,
    one_time_task,
    scheduled_task,
    use_pass_state_machine,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
RULE = "agent-tasks-scheduler-tick-test"
ASL = Path(__file__).resolve().parents[3] / "infra" / "statemachines" / "execution.asl.json"


@pytest.fixture
def state_machine(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """A moto state machine the scheduler starts executions on: these tests read the input each
    workflow was started with (its not_before). Runs of the pass machine never end, so the per-user
    concurrency limit is raised past what any of these tests starts."""
    monkeypatch.setenv("MAX_CONCURRENT_RUNS_PER_USER", "1000")
    return use_pass_state_machine(monkeypatch)


@pytest.fixture
def lookahead(state_machine: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The default lookahead (60 s) on, over the schedule tests' default of off."""
    monkeypatch.setenv("SCHEDULE_LOOKAHEAD_SECONDS", "60")
    get_settings.cache_clear()
    return state_machine


def _workflow_input(state_machine: str, execution_id: str) -> dict[str, Any]:
    arn = state_machine.replace(":stateMachine:", ":execution:") + f":{execution_id}"
    described = boto3.client("stepfunctions", region_name="us-east-1").describe_execution(executionArn=arn)
    return dict(json.loads(described["input"]))


def _claimed_ahead(cron: str = "0 9 * * *", **fields: Any) -> tuple[str, str]:
    """A task due at 09:00 whose slot the 08:59:10 tick claimed ahead: (task id, execution id)."""
    task = scheduled_task(cron, created=T0 - timedelta(seconds=55), **fields)
    summary = tick(T0 - timedelta(seconds=50), rule=RULE)
    assert (summary.claimed_ahead, summary.started, summary.errors) == (1, 1, 0)
    return task.id, slot_execution_id(task.id, T0)


def _running(task_id: str) -> str:
    """Another run of the task, running now (a run-now started earlier)."""
    task = task_store.get(task_id)
    assert task is not None
    execution = execution_service.create_and_start(
        task, {}, trigger_type="manual", actor=Actor(user_id=task.owner_id), now=T0 - 2 * MINUTE
    )
    execution_store.update(execution.id, {"status": "running", "started_at": (T0 - MINUTE).isoformat()})
    return execution.id


def _skips(reason: str) -> list[dict[str, Any]]:
    return [
        event
        for event in audit_actions()
        if event["action"] == "schedule.slot_skipped" and event["details"]["reason"] == reason
    ]


# -- the claim ---------------------------------------------------------------------------------------


def test_a_slot_within_the_lookahead_is_claimed_once_and_its_workflow_waits_for_it(lookahead: str) -> None:
    # Given a task due at 09:00
    task = scheduled_task("0 9 * * *", created=T0 - timedelta(hours=1))
    # When ticks run at 08:58:30 (the slot beyond the lookahead), 08:59:10 and 08:59:40
    assert tick(T0 - timedelta(seconds=90), rule=RULE).due == 0
    first = tick(T0 - timedelta(seconds=50), rule=RULE)
    second = tick(T0 - timedelta(seconds=20), rule=RULE)
    # Then the 08:59:10 tick claimed the slot ahead and started its workflow; the next claimed nothing
    assert (first.due, first.claimed_ahead, first.started) == (1, 1, 1)
    assert (second.due, second.started) == (0, 0)
    # And one execution exists, pending, waiting until 09:00, holding no run slot
    [execution] = executions_of(task.id)
    assert execution.id == slot_execution_id(task.id, T0)
    assert (execution.status, execution.waiting_until, execution.run_slots) == ("pending", T0, [])
    assert execution.trigger_metadata["slot"] == T0.isoformat()
    # And its workflow was started with the time to wait for (the Wait state's TimestampPath)
    assert _workflow_input(lookahead, execution.id) == {
        "execution_id": execution.id,
        "not_before": "2026-03-02T09:00:00Z",
    }
    # And the schedule moved on to the next day's slot, with the claim finished
    stored = task_store.get(task.id)
    assert stored is not None
    assert (stored.next_run_at, stored.pending_slot, stored.scheduled_runs) == (
        T0 + timedelta(days=1),
        None,
        0,
    )
    # And the tick at 09:00 itself claims nothing more for that slot
    assert tick(T0, rule=RULE).started == 0
    assert len(executions_of(task.id)) == 1


def test_with_the_lookahead_off_nothing_is_claimed_before_it_is_due(state_machine: str) -> None:
    task = scheduled_task("0 9 * * *", created=T0 - timedelta(hours=1))
    assert tick(T0 - timedelta(seconds=10), rule=RULE).due == 0
    assert tick(T0, rule=RULE).started == 1
    [execution] = executions_of(task.id)
    assert execution.waiting_until is None
    assert _workflow_input(state_machine, execution.id) == {"execution_id": execution.id}


def test_the_waiting_run_is_admitted_when_its_slot_begins(lookahead: str) -> None:
    # Given an every-minute task whose 09:00 run waits for its slot
    _, waiting = _claimed_ahead("* * * * *")
    # When the 09:00 slot begins
    assert slot_time.begin_slot(waiting, now=T0) == {"next": "run"}
    # Then it is admitted: pending with its run slot, no longer waiting
    execution = execution_store.get(waiting)
    assert execution is not None
    assert (execution.status, execution.waiting_until, execution.run_slots) == ("pending", None, ["user"])
    # And a retried begin changes nothing
    assert slot_time.begin_slot(waiting, now=T0) == {"next": "run"}


# -- decided at the slot's time ------------------------------------------------------------------------


def test_overlap_is_judged_at_the_slot_time_not_at_the_claim(lookahead: str) -> None:
    # Given a task under skip with a run going when its 09:00 slot is claimed ahead (08:59:10)
    task = scheduled_task("0 9 * * *", created=T0 - timedelta(hours=1), overlap_policy="skip")
    earlier = _running(task.id)
    summary = tick(T0 - timedelta(seconds=50), rule=RULE)
    # Then the claim does not skip it: overlap is not judged a minute early
    assert (summary.started, summary.skipped_overlap) == (1, 0)
    # When the earlier run ends before 09:00, and the slot begins
    execution_store.update(earlier, {"status": "completed"})
    waiting = slot_execution_id(task.id, T0)
    # Then it runs
    assert slot_time.begin_slot(waiting, now=T0) == {"next": "run"}


def test_a_run_still_going_at_the_slot_time_skips_the_waiting_slot(lookahead: str) -> None:
    # Given a task under skip whose slot was claimed ahead, and a run that is going at 09:00
    task_id, waiting = _claimed_ahead(overlap_policy="skip")
    _running(task_id)
    # When the slot begins
    assert slot_time.begin_slot(waiting, now=T0) == {"next": "stop"}
    # Then the waiting run ends cancelled, saying it was skipped at its slot, and the skip is audited
    execution = execution_store.get(waiting)
    assert execution is not None
    assert execution.status == "cancelled"
    assert execution.error_message == "skipped at its slot: an earlier run was still going at the slot's time"
    [skip] = _skips("overlap")
    assert skip["details"]["slot"] == T0.isoformat()
    assert skip["details"]["execution_id"] == waiting


def test_cancel_other_at_the_slot_time_cancels_the_run_going_then_runs(lookahead: str) -> None:
    task_id, waiting = _claimed_ahead(overlap_policy="cancel_other")
    earlier = _running(task_id)
    assert slot_time.begin_slot(waiting, now=T0) == {"next": "run"}
    cancelled = execution_store.get(earlier)
    assert cancelled is not None
    assert cancelled.status == "cancelled"
    [event] = [e for e in audit_actions() if e["action"] == "schedule.overlap_cancelled"]
    assert event["details"]["cancelled_execution_ids"] == [earlier]


def test_buffer_one_at_the_slot_time_queues_the_run_until_the_one_going_ends(lookahead: str) -> None:
    # Given a buffer_one task whose slot was claimed ahead, and a run going at 09:00
    task_id, waiting = _claimed_ahead(overlap_policy="buffer_one")
    earlier = _running(task_id)
    # When the slot begins, Then it is queued (buffered) and its workflow waits for its turn
    assert slot_time.begin_slot(waiting, now=T0)["next"] == "wait_turn"
    queued = execution_store.get(waiting)
    assert queued is not None
    assert (queued.status, queued.waiting_until, queued.trigger_metadata.get("buffered")) == (
        "queued",
        None,
        True,
    )
    assert slot_time.check_turn(waiting)["next"] == "wait_turn"
    # When the run going ends (the one end path promotes the queued one)
    from agent_tasks.services.ending import end_execution

    ended = execution_store.get(earlier)
    assert ended is not None
    end_execution(ended, "completed")
    # Then a look at its turn finds it pending: it runs
    assert slot_time.check_turn(waiting) == {"next": "run"}


def test_a_concurrency_limit_reached_at_the_slot_time_queues_the_run(
    lookahead: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a user allowed one run at a time, whose slot was claimed ahead while nothing ran
    monkeypatch.setenv("MAX_CONCURRENT_RUNS_PER_USER", "1")
    get_settings.cache_clear()
    task_id, waiting = _claimed_ahead(overlap_policy="allow")
    # Then the waiting run held no slot: a run-now before 09:00 was admitted, not queued
    other = _running(task_id)
    assert execution_store.get(other).status == "running"  # type: ignore[union-attr]
    # When the slot begins with that run going, Then the slot's run is queued at its time
    assert slot_time.begin_slot(waiting, now=T0)["next"] == "wait_turn"
    assert execution_store.status_of(waiting) == "queued"


@pytest.mark.parametrize(
    ("change", "audit_reason", "says"),
    [
        ("pause", "paused", "the schedule was paused or disabled"),
        ("delete", "deleted", "the task was deleted"),
        ("edit_cron", "schedule_changed", "schedule_cron changed"),
        ("deactivate", "inactive", "the task was deactivated"),
    ],
)
def test_a_change_while_the_run_waits_ends_it_without_running(
    lookahead: str, change: str, audit_reason: str, says: str
) -> None:
    # Given a slot claimed ahead, its run waiting for 09:00
    task_id, waiting = _claimed_ahead()
    # When the owner changes the task before 09:00
    owner = Actor(user_id=OWNER)
    if change == "pause":
        task_service.update_task(owner, task_id, TaskUpdate(schedule_enabled=False), if_match=None)
    elif change == "delete":
        task_service.delete_task(owner, task_id, if_match=None)
    elif change == "edit_cron":
        task_service.update_task(owner, task_id, TaskUpdate(schedule_cron="30 9 * * *"), if_match=None)
    else:
        task_service.update_task(owner, task_id, TaskUpdate(is_active=False), if_match=None)
    # And the slot's time comes
    assert slot_time.begin_slot(waiting, now=T0) == {"next": "stop"}
    # Then the run ended cancelled with the reason, nothing ran, and the skipped slot is audited
    execution = execution_store.get(waiting)
    assert execution is not None
    assert execution.status == "cancelled"
    assert execution.error_message is not None
    assert says in execution.error_message
    assert execution.started_at is None
    assert len(_skips(audit_reason)) == 1


def test_a_prompt_edit_while_the_run_waits_runs_the_edited_task(lookahead: str) -> None:
    task_id, waiting = _claimed_ahead()
    owner = Actor(user_id=OWNER)
    task_service.update_task(owner, task_id, TaskUpdate(prompt_template="The new prompt."), if_match=None)
    assert slot_time.begin_slot(waiting, now=T0) == {"next": "run"}
    execution = execution_store.get(waiting)
    assert execution is not None
    assert execution.task_snapshot["prompt_template"] == "The new prompt."


def test_a_user_cancel_while_the_run_waits_stops_it(lookahead: str) -> None:
    _, waiting = _claimed_ahead()
    execution_service.cancel(Actor(user_id=OWNER), waiting)
    assert slot_time.begin_slot(waiting, now=T0) == {"next": "stop"}
    assert execution_store.status_of(waiting) == "cancelled"


def test_max_runs_is_counted_when_the_run_begins(lookahead: str) -> None:
    # Given an every-minute schedule allowed one run, its 09:00 slot claimed ahead
    task_id, waiting = _claimed_ahead("* * * * *", max_runs=1)
    stored = task_store.get(task_id)
    assert stored is not None
    assert stored.scheduled_runs == 0  # not counted while it waits
    # And the 09:01 slot claimed ahead by the 09:00 tick, before the 09:00 run began
    assert tick(T0, rule=RULE).claimed_ahead == 1
    later = slot_execution_id(task_id, T0 + MINUTE)
    # When the 09:00 slot begins, Then it runs and counts, and the schedule ends at max_runs
    assert slot_time.begin_slot(waiting, now=T0) == {"next": "run"}
    stored = task_store.get(task_id)
    assert stored is not None
    assert (stored.scheduled_runs, stored.schedule_enabled) == (1, False)
    # And the 09:01 slot, begun at its time, does not run
    assert slot_time.begin_slot(later, now=T0 + MINUTE) == {"next": "stop"}
    assert execution_store.status_of(later) == "cancelled"


def test_a_one_time_slot_claimed_ahead_runs_although_its_claim_ended_the_schedule(lookahead: str) -> None:
    task = one_time_task(T0, created=T0 - timedelta(hours=1))
    assert tick(T0 - timedelta(seconds=30), rule=RULE).claimed_ahead == 1
    stored = task_store.get(task.id)
    assert stored is not None
    assert stored.schedule_enabled is False  # the claim of its only slot ends the schedule
    assert slot_time.begin_slot(slot_execution_id(task.id, T0), now=T0) == {"next": "run"}


# -- the workflow ---------------------------------------------------------------------------------------


def test_the_state_machine_waits_for_not_before_only_when_the_input_carries_it() -> None:
    definition = json.loads(ASL.read_text())
    states = definition["States"]
    # Given the workflow's first state
    first = states[definition["StartAt"]]
    # Then it is a choice: input with not_before waits for it, any other goes straight to Prepare
    assert first["Type"] == "Choice"
    assert first["Choices"] == [{"Variable": "$.not_before", "IsPresent": True, "Next": "WaitForSlot"}]
    assert first["Default"] == "Prepare"
    # And the wait is until the timestamp in the input, then the slot is decided before Prepare
    assert states["WaitForSlot"] == {
        "Type": "Wait",
        "Comment": states["WaitForSlot"]["Comment"],
        "TimestampPath": "$.not_before",
        "Next": "BeginSlot",
    }
    assert states["BeginSlot"]["Parameters"]["step"] == "begin_slot"
    decided = {choice["StringEquals"]: choice["Next"] for choice in states["SlotDecided"]["Choices"]}
    assert decided == {"run": "Prepare", "wait_turn": "WaitForTurn"}
    assert states["SlotDecided"]["Default"] == "Done"
    # And a run queued at its slot waits on a task token (no polling), at most the time its step says
    turn = states["WaitForTurn"]
    assert turn["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert turn["Parameters"]["Payload"] == {
        "step": "await_turn",
        "execution_id.$": "$.execution_id",
        "task_token.$": "$$.Task.Token",
    }
    assert turn["TimeoutSecondsPath"] == "$.run.timeout_seconds"
    assert (turn["ResultPath"], turn["Next"]) == ("$.run", "SlotDecided")
    assert "Seconds" not in turn
    assert "HeartbeatSeconds" not in turn
    # And a timed-out wait looks once (CheckTurn), then is decided again
    [timed_out] = [c for c in turn["Catch"] if c["ErrorEquals"] == ["States.Timeout"]]
    assert timed_out["Next"] == "CheckTurn"
    assert states["CheckTurn"]["Parameters"]["step"] == "check_turn"
    assert states["CheckTurn"]["Next"] == "SlotDecided"
    assert not any(state["Type"] == "Wait" and "Seconds" in state for state in states.values())


def test_a_waiting_run_recovered_after_a_crash_is_counted_once_when_it_begins(
    lookahead: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a schedule with max_runs whose tick crashed after starting the waiting run, before
    # finishing the claim
    task = scheduled_task("0 9 * * *", created=T0 - timedelta(seconds=55), max_runs=5)
    fail_once(monkeypatch, schedule_store, "finish_slot")
    assert tick(T0 - timedelta(seconds=50), rule=RULE).errors == 1
    waiting = slot_execution_id(task.id, T0)
    assert execution_store.status_of(waiting) == "pending"
    # When a tick past the claim's lease (and past the slot) finishes the claim
    recovered = tick(T0 + timedelta(seconds=45), rule=RULE)
    assert (recovered.recovered, recovered.errors) == (1, 0)
    stored = task_store.get(task.id)
    assert stored is not None
    # Then the run is not counted yet, and still waits for its BeginSlot
    assert (stored.pending_slot, stored.scheduled_runs) == (None, 0)
    # And when it begins it counts once
    assert slot_time.begin_slot(waiting, now=T0 + timedelta(seconds=46)) == {"next": "run"}
    stored = task_store.get(task.id)
    assert stored is not None
    assert stored.scheduled_runs == 1
    assert len(executions_of(task.id)) == 1
