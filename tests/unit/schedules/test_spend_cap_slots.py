"""A scheduled slot of an owner whose spend cap is reached is skipped, audited, and the schedule moves on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent_tasks.adapters import InMemoryWorkflows
from agent_tasks.models.limits import SpendLimits
from agent_tasks.services.scheduler import tick
from agent_tasks.store import audit as audit_store
from agent_tasks.store import usage as usage_store
from agent_tasks.store.dynamo import transact
from tests.support.schedules import OWNER, audit_actions, executions_of, scheduled_task, stored_item

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULE = "agent-tasks-scheduler-tick-test"


def _capped_at(cap: float, spent: float) -> None:
    limits = SpendLimits(owner_id=OWNER, daily_usd=cap, version=1, updated_at=T0)
    audit = audit_store.new_event(
        actor_id=OWNER, owner_id=OWNER, action="limits.updated", resource_type="limits",
        resource_id=OWNER, at=T0, request_id=None,
    )  # fmt: skip
    usage_store.put_limits(limits, audit, expected_version=0)
    transact(usage_store.rollup_items(OWNER, "another-task", T0 - timedelta(hours=1), spent, None))


def test_a_slot_over_the_owners_daily_cap_is_skipped_with_an_audit_event(
    workflows: InMemoryWorkflows,
) -> None:
    # Given a scheduled task whose owner spent their daily cap this morning
    task = scheduled_task("*/5 * * * *", created=T0 - timedelta(minutes=1))
    _capped_at(1.0, 1.5)
    # When its slot comes
    summary = tick(T0, rule=RULE)
    # Then nothing starts, the skip is audited with the cap and its reset time, and the schedule moves on
    assert summary.started == 0
    assert executions_of(task.id) == []
    [skip] = [a for a in audit_actions() if a["action"] == "schedule.slot_skipped"]
    assert skip["details"]["reason"] == "spend_cap"
    assert skip["details"]["spend_cap"]["cap_usd"] == 1.0
    assert skip["details"]["spend_cap"]["resets_at"] == "2026-03-03T00:00:00+00:00"
    assert stored_item(task.id)["next_run_at"] == "2026-03-02T09:05:00Z"


def test_under_the_cap_the_slot_starts(workflows: InMemoryWorkflows) -> None:
    task = scheduled_task("*/5 * * * *", created=T0 - timedelta(minutes=1))
    _capped_at(1.0, 0.5)
    assert tick(T0, rule=RULE).started == 1
    assert len(executions_of(task.id)) == 1
