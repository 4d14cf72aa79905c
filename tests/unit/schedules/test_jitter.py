"""Jitter: a deterministic offset per task and slot, applied by the tick and shown by the preview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent_tasks.adapters import InMemoryWorkflows
from agent_tasks.schedules import slot_execution_id
from agent_tasks.schedules.jitter import jitter_offset
from agent_tasks.services.scheduler import tick
from tests.support.api_calls import Api, valid_task
from tests.support.fixtures import LambdaClient
from tests.support.schedules import executions_of, scheduled_task, stored_item

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
RULE = "agent-tasks-scheduler-tick-test"


def test_offsets_are_fixed_per_task_and_slot_within_the_jitter_and_spread_out() -> None:
    offsets = [jitter_offset(f"task-{n}", T0, 600) for n in range(1000)]
    assert offsets[:5] == [jitter_offset(f"task-{n}", T0, 600) for n in range(5)]  # deterministic
    assert all(timedelta(0) <= o <= timedelta(seconds=600) for o in offsets)
    assert len({o.seconds // 60 for o in offsets}) == 11  # every minute of the window gets some
    assert jitter_offset("task-0", T0, 600) != jitter_offset("task-0", T0 + timedelta(days=1), 600) or (
        jitter_offset("task-1", T0, 600) != jitter_offset("task-1", T0 + timedelta(days=1), 600)
    )
    assert jitter_offset("task-0", T0, 0) == timedelta(0)
    with pytest.raises(ValueError, match="jitter_seconds"):
        jitter_offset("task-0", T0, 3601)


def test_the_tick_starts_a_jittered_slot_at_its_offset_and_records_it(workflows: InMemoryWorkflows) -> None:
    # Given a 09:00 task allowed ten minutes of jitter, whose 09:00 slot's offset is o
    task = scheduled_task("0 9 * * *", created=T0 - MINUTE, jitter_seconds=600)
    offset = jitter_offset(task.id, T0, 600)
    assert stored_item(task.id)["GSI2SK"].startswith(f"{(T0 + offset):%Y-%m-%dT%H:%M:%SZ}#")
    # When ticks run before the offset, then at it
    if offset >= timedelta(seconds=1):
        assert tick(T0 + offset - timedelta(seconds=1), rule=RULE).started == 0
    summary = tick(T0 + offset, rule=RULE)
    # Then the slot started at its offset, keeping its own time and id, the offset in its metadata
    assert summary.started == 1
    [execution] = executions_of(task.id)
    assert execution.id == slot_execution_id(task.id, T0)
    assert execution.trigger_metadata["slot"] == T0.isoformat()
    assert execution.trigger_metadata["jitter_seconds"] == offset.seconds
    # And tomorrow's slot is due at its own offset
    tomorrow = T0 + timedelta(days=1)
    due = tomorrow + jitter_offset(task.id, tomorrow, 600)
    assert stored_item(task.id)["GSI2SK"].startswith(f"{due:%Y-%m-%dT%H:%M:%SZ}#")


def test_jitter_is_validated_and_the_preview_applies_it(api: LambdaClient) -> None:
    alice = Api(api, "alice")
    status, error, _ = alice.call(
        "POST", "/api/v1/tasks", valid_task(is_scheduled=True, schedule_cron="0 9 * * *", jitter_seconds=3601)
    )
    assert status == 422
    assert [".".join(map(str, d["loc"])) for d in error["error"]["details"]] == ["body.jitter_seconds"]
    body = valid_task(
        is_scheduled=True,
        schedule_cron="0 9 * * *",
        jitter_seconds=3600,
        schedule_start_at="2030-01-01T00:00:00Z",
    )
    status, task, _ = alice.call("POST", "/api/v1/tasks", body)
    assert status == 201, task
    _, preview, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/preview", {})
    first = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
    expected = first + jitter_offset(task["id"], first, 3600)
    assert datetime.fromisoformat(preview["next_fire_times"][0]) == expected
