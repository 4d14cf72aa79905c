"""A scheduled run that waits for a person counts as running: under `skip` the next slot is skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent_tasks.adapters import InMemoryWorkflows
from agent_tasks.services.scheduler import tick
from agent_tasks.store import executions as execution_store
from tests.support.schedules import audit_actions, executions_of, scheduled_task

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULE = "agent-tasks-scheduler-tick-test"
MINUTE = timedelta(minutes=1)


def test_a_run_waiting_for_approval_makes_skip_skip_the_next_slot(workflows: InMemoryWorkflows) -> None:
    # Given a task every five minutes under skip, whose 09:00 run waits for a person's approval
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE, overlap_policy="skip")
    assert tick(T0, rule=RULE).started == 1
    [first] = executions_of(task.id)
    execution_store.update(first.id, {"status": "waiting_for_approval", "pending_approval_id": "a-1"})
    # When the 09:05 tick runs
    summary = tick(T0 + 5 * MINUTE, rule=RULE)
    # Then the slot is skipped and audited as an overlap
    assert (summary.started, summary.skipped_overlap) == (0, 1)
    assert len(executions_of(task.id)) == 1
    skips = [a for a in audit_actions() if a["action"] == "schedule.slot_skipped"]
    assert [a["details"]["reason"] for a in skips] == ["overlap"]
