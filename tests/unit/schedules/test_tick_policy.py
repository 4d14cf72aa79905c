"""plan_tick (latest missed slot once, never a burst), overlap_decision, should_pause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent_tasks.schedules import MAX_COUNTED_SKIPPED_SLOTS, overlap_decision, plan_tick, should_pause


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_a_task_not_yet_due_gets_nothing() -> None:
    # Given next_run_at one minute in the future
    plan = plan_tick(
        utc(2026, 1, 1, 12, 1), now=utc(2026, 1, 1, 12, 0, 59), expression="* * * * *", timezone="UTC"
    )
    # Then nothing runs, nothing is skipped and next_run_at stays as stored
    assert not plan.due
    assert plan.run_slot is None
    assert (plan.skipped_count, plan.first_skipped, plan.last_skipped) == (0, None, None)
    assert plan.next_run_at == utc(2026, 1, 1, 12, 1)


def test_an_on_time_tick_runs_the_slot_and_moves_to_the_next() -> None:
    # Given the tick 20 s after a 15-minute slot
    plan = plan_tick(
        utc(2026, 1, 1, 12, 15), now=utc(2026, 1, 1, 12, 15, 20), expression="*/15 * * * *", timezone="UTC"
    )
    # Then that slot runs, nothing is skipped, and next_run_at is the following slot
    assert plan.due
    assert plan.run_slot == utc(2026, 1, 1, 12, 15)
    assert plan.skipped_count == 0
    assert plan.skipped_count_exact
    assert plan.next_run_at == utc(2026, 1, 1, 12, 30)


def test_after_a_three_hour_outage_only_the_latest_slot_runs() -> None:
    # Given an every-15-minutes task due at 09:15 and a scheduler that was down until 12:00:30
    plan = plan_tick(
        utc(2026, 1, 1, 9, 15), now=utc(2026, 1, 1, 12, 0, 30), expression="*/15 * * * *", timezone="UTC"
    )
    # Then one slot runs, the latest (12:00); the other 11 (09:15 .. 11:45) are skipped
    assert plan.run_slot == utc(2026, 1, 1, 12)
    assert plan.skipped_count == 11
    assert plan.skipped_count_exact
    assert plan.first_skipped == utc(2026, 1, 1, 9, 15)
    assert plan.last_skipped == utc(2026, 1, 1, 11, 45)
    # And next_run_at is the first slot after now
    assert plan.next_run_at == utc(2026, 1, 1, 12, 15)
    assert plan.next_run_at > utc(2026, 1, 1, 12, 0, 30)


def test_one_missed_slot_is_skipped_and_the_later_one_runs() -> None:
    plan = plan_tick(utc(2026, 1, 1, 9), now=utc(2026, 1, 1, 10, 30), expression="0 * * * *", timezone="UTC")
    assert plan.run_slot == utc(2026, 1, 1, 10)
    assert (plan.skipped_count, plan.first_skipped, plan.last_skipped) == (
        1,
        utc(2026, 1, 1, 9),
        utc(2026, 1, 1, 9),
    )
    assert plan.next_run_at == utc(2026, 1, 1, 11)


def test_a_stored_slot_that_is_no_fire_time_still_counts_as_due() -> None:
    # Given next_run_at 10:07 (say, from an earlier expression) and no later fire time before now
    plan = plan_tick(
        utc(2026, 1, 1, 10, 7), now=utc(2026, 1, 1, 10, 30), expression="0 * * * *", timezone="UTC"
    )
    # Then the promised slot runs once and the schedule moves on
    assert plan.run_slot == utc(2026, 1, 1, 10, 7)
    assert plan.skipped_count == 0
    assert plan.next_run_at == utc(2026, 1, 1, 11)


def test_a_tick_across_the_repeated_hour_counts_real_slots() -> None:
    # Given every 30 minutes in New York, due 05:00Z (01:00 EDT), ticking at 06:40Z (01:40 EST)
    plan = plan_tick(
        utc(2026, 11, 1, 5),
        now=utc(2026, 11, 1, 6, 40),
        expression="*/30 * * * *",
        timezone="America/New_York",
    )
    # Then 06:30Z (01:30 EST) runs; 05:00, 05:30, 06:00 are skipped
    assert plan.run_slot == utc(2026, 11, 1, 6, 30)
    assert plan.skipped_count == 3
    assert plan.last_skipped == utc(2026, 11, 1, 6)
    assert plan.next_run_at == utc(2026, 11, 1, 7)


def test_a_very_long_outage_reports_a_floor_instead_of_walking_every_slot() -> None:
    # Given an every-minute task left for 30 days (43,200 slots)
    stored = utc(2026, 1, 1)
    now = stored + timedelta(days=30)
    plan = plan_tick(stored, now=now, expression="* * * * *", timezone="UTC")
    # Then the latest slot runs, and the skipped count is a flagged lower bound
    assert plan.run_slot == now
    assert plan.skipped_count == MAX_COUNTED_SKIPPED_SLOTS
    assert not plan.skipped_count_exact
    assert plan.last_skipped == now - timedelta(minutes=1)
    assert plan.next_run_at == now + timedelta(minutes=1)


def test_exactly_the_cap_of_skipped_slots_is_still_exact() -> None:
    stored = utc(2026, 1, 1)
    now = stored + timedelta(minutes=MAX_COUNTED_SKIPPED_SLOTS)
    plan = plan_tick(stored, now=now, expression="* * * * *", timezone="UTC")
    assert plan.skipped_count == MAX_COUNTED_SKIPPED_SLOTS
    assert plan.skipped_count_exact


def test_naive_clock_values_are_refused() -> None:
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime"):
        plan_tick(utc(2026, 1, 1), now=datetime(2026, 1, 1, 1), expression="* * * * *", timezone="UTC")


@pytest.mark.parametrize(
    ("policy", "running", "decision"),
    [
        ("skip", 0, "start"),
        ("skip", 1, "skip"),
        ("skip", 3, "skip"),
        ("allow", 0, "start"),
        ("allow", 2, "start"),
        ("cancel_other", 0, "start"),
        ("cancel_other", 2, "cancel_others"),
    ],
)
def test_overlap_decision(policy: str, running: int, decision: str) -> None:
    assert overlap_decision(policy, running) == decision  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("running", "queued", "decision"),
    [(0, 0, "start"), (1, 0, "queue"), (2, 0, "queue"), (1, 1, "skip"), (3, 1, "skip")],
)
def test_overlap_buffer_one_queues_one_and_skips_while_one_waits(
    running: int, queued: int, decision: str
) -> None:
    assert overlap_decision("buffer_one", running, queued) == decision


def test_overlap_decision_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="overlap policy must be one of"):
        overlap_decision("queue", 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="running_count must not be negative"):
        overlap_decision("skip", -1)
    with pytest.raises(ValueError, match="must be part of running_count"):
        overlap_decision("buffer_one", 1, 2)


@pytest.mark.parametrize(
    ("failures", "limit", "pause"),
    [
        (0, None, False),
        (50, None, False),
        (2, 3, False),
        (3, 3, True),
        (4, 3, True),
        (1, 1, True),
        (0, 1, False),
    ],
)
def test_should_pause(failures: int, limit: int | None, pause: bool) -> None:
    assert should_pause(failures, limit) is pause


def test_should_pause_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="consecutive_failures must not be negative"):
        should_pause(-1, 3)
    with pytest.raises(ValueError, match="pause_after_failures must be at least 1"):
        should_pause(1, 0)
