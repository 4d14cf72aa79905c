"""pause_after_failures: N failed scheduled runs in a row disable the schedule, audited and announced."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent_tasks.adapters import InMemoryWorkflows
from agent_tasks.services import workflow
from agent_tasks.services.scheduler import tick
from agent_tasks.store import tasks as task_store
from tests.support.fixtures import FakePorts
from tests.support.schedules import audit_actions, executions_of, scheduled_task, stored_item

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
FAILURE = {
    "Error": "AgentRunFailed",
    "Cause": json.dumps({"errorMessage": "the model API rejected the request"}),
}


@pytest.fixture
def bus_messages(workflows: InMemoryWorkflows, fake_ports: FakePorts) -> Any:
    """SchedulePaused events published on the service's bus (the event port's fake; its EventBridge
    adapter, source and rule matching included, is tested against moto in tests/unit/test_aws_adapters.py)."""

    def read() -> list[dict[str, Any]]:
        return [
            {"detail-type": kind, "detail": json.loads(detail)}
            for kind, detail in fake_ports.event_bus.published
            if kind == "SchedulePaused"
        ]

    return read


def _run_slot_and_end(now: datetime, task_id: str, outcome: str) -> None:
    assert tick(now, rule="tick").started == 1
    execution = executions_of(task_id)[-1]
    if outcome == "failed":
        workflow.mark_failed(execution.id, FAILURE)
    else:
        workflow.prepare(execution.id)
        workflow.finalize(execution.id, {})


def test_after_n_failures_in_a_row_the_schedule_pauses_itself_saying_why(bus_messages: Any) -> None:
    # Given a task every minute that pauses after 3 failures in a row
    task = scheduled_task("* * * * *", created=T0 - MINUTE, pause_after_failures=3, overlap_policy="allow")
    # When two scheduled runs fail
    _run_slot_and_end(T0, task.id, "failed")
    _run_slot_and_end(T0 + MINUTE, task.id, "failed")
    # Then it keeps its schedule and counts them
    stored = task_store.get(task.id)
    assert stored is not None
    assert (stored.schedule_enabled, stored.consecutive_failures) == (True, 2)
    # When the third fails
    _run_slot_and_end(T0 + 2 * MINUTE, task.id, "failed")
    # Then the schedule is disabled, out of the due index, with the reason on the task
    paused = task_store.get(task.id)
    assert paused is not None
    assert paused.schedule_enabled is False
    assert paused.next_run_at is None
    assert paused.schedule_paused_reason is not None
    assert "3 failed scheduled runs in a row" in paused.schedule_paused_reason
    assert "the model API rejected the request" in paused.schedule_paused_reason
    assert paused.version == task.version + 1
    assert "GSI2PK" not in stored_item(task.id)
    # And an audit event and a SchedulePaused event say why
    [audit] = [a for a in audit_actions() if a["action"] == "task.schedule_paused"]
    assert audit["actor_id"] == "system:scheduler"
    assert audit["details"]["consecutive_failures"] == 3
    [event] = bus_messages()
    assert event["detail-type"] == "SchedulePaused"
    assert event["detail"]["task_id"] == task.id
    assert event["detail"]["reason"] == paused.schedule_paused_reason
    # And no later tick starts it
    assert tick(T0 + 3 * MINUTE, rule="tick").due == 0
    assert len(executions_of(task.id)) == 3


def test_a_completed_run_ends_the_failure_streak(bus_messages: Any) -> None:
    # Given a task that pauses after 2 failures in a row
    task = scheduled_task("* * * * *", created=T0 - MINUTE, pause_after_failures=2, overlap_policy="allow")
    # When runs fail, complete, then fail again
    _run_slot_and_end(T0, task.id, "failed")
    _run_slot_and_end(T0 + MINUTE, task.id, "completed")
    _run_slot_and_end(T0 + 2 * MINUTE, task.id, "failed")
    # Then the streak is 1 and the schedule is still on
    stored = task_store.get(task.id)
    assert stored is not None
    assert (stored.schedule_enabled, stored.consecutive_failures) == (True, 1)
    assert bus_messages() == []


def test_without_pause_after_failures_a_schedule_never_pauses(bus_messages: Any) -> None:
    task = scheduled_task("* * * * *", created=T0 - MINUTE, overlap_policy="allow")
    for minute in range(4):
        _run_slot_and_end(T0 + minute * MINUTE, task.id, "failed")
    stored = task_store.get(task.id)
    assert stored is not None
    assert (stored.schedule_enabled, stored.consecutive_failures) == (True, 4)


def test_a_streak_already_past_a_lowered_limit_pauses_at_the_next_tick(bus_messages: Any) -> None:
    # Given a task with 2 failures in a row whose limit is then lowered to 2 by a direct write
    task = scheduled_task("* * * * *", created=T0 - MINUTE, overlap_policy="allow")
    _run_slot_and_end(T0, task.id, "failed")
    _run_slot_and_end(T0 + MINUTE, task.id, "failed")
    stored = task_store.get(task.id)
    assert stored is not None
    from tests.support.schedules import audit_event

    task_store.replace(
        stored,
        stored.model_copy(update={"pause_after_failures": 2, "version": stored.version + 1}),
        audit_event(task.id),
    )
    # When the next tick finds it due
    summary = tick(T0 + 2 * MINUTE, rule="tick")
    # Then it pauses instead of starting
    assert (summary.paused, summary.started) == (1, 0)
    paused = task_store.get(task.id)
    assert paused is not None
    assert paused.schedule_enabled is False
    assert len(bus_messages()) == 1
