"""Slot identity: one idempotency key and one execution id per (task, slot), stable across retries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent_tasks.schedules import slot_execution_id, slot_idempotency_key


def test_idempotency_key_names_the_task_and_the_utc_minute() -> None:
    slot = datetime(2026, 3, 8, 3, 0, tzinfo=ZoneInfo("America/New_York"))
    assert slot_idempotency_key("task-1", slot) == "sched#task-1#2026-03-08T07:00Z"


def test_the_same_slot_gives_the_same_execution_id_in_any_offset() -> None:
    # Given one instant written in UTC and in New York time (a scheduler retry after a crash)
    in_utc = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    in_new_york = in_utc.astimezone(ZoneInfo("America/New_York"))
    # Then both give one execution id, a UUID5
    assert slot_execution_id("task-1", in_utc) == slot_execution_id("task-1", in_new_york)
    assert uuid.UUID(slot_execution_id("task-1", in_utc)).version == 5


def test_the_id_is_pinned_so_retries_across_releases_agree() -> None:
    # A changed namespace or key format would give in-flight slots new ids (and a second execution)
    execution_id = slot_execution_id("task-1", datetime(2026, 1, 1, tzinfo=UTC))
    assert execution_id == "432d2813-3b5d-5526-a9a9-188fd9b805df"


def test_different_slots_or_tasks_give_different_ids() -> None:
    slot = datetime(2026, 1, 1, tzinfo=UTC)
    ids = {
        slot_execution_id("task-1", slot),
        slot_execution_id("task-1", slot + timedelta(minutes=1)),
        slot_execution_id("task-2", slot),
    }
    assert len(ids) == 3


@pytest.mark.parametrize(
    ("task_id", "slot", "reason"),
    [
        ("", datetime(2026, 1, 1, tzinfo=UTC), "task_id must not be empty"),
        ("t", datetime(2026, 1, 1), "slot must be a timezone-aware datetime"),
        ("t", datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC), "slot must be a whole minute"),
    ],
)
def test_bad_slots_are_refused(task_id: str, slot: datetime, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        slot_idempotency_key(task_id, slot)
