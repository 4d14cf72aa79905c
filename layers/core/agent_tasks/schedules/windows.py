"""When a schedule may fire: its start and end dates, and how late a missed slot may still run.

- `schedule_start_at` / `schedule_end_at`: the schedule fires only at times in [start, end]; after
  its last slot has run the schedule disables itself, saying why (services/scheduler.py).
- `catchup_window_seconds`: a slot the scheduler reaches more than this late (it was down, or the
  tick failed) is skipped and recorded, not run.
Pure: the clock comes from the caller.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from agent_tasks.schedules.fire_times import next_fire_time


def next_fire_in_window(
    expression: str,
    timezone: str,
    *,
    after: datetime,
    start_at: datetime | None,
    end_at: datetime | None,
) -> datetime | None:
    """The first fire time after `after` and not before `start_at`; None when it falls after `end_at`."""
    if start_at is not None and start_at - timedelta(seconds=1) > after:
        after = start_at - timedelta(seconds=1)
    moment = next_fire_time(expression, timezone, after=after)
    if end_at is not None and moment > end_at:
        return None
    return moment


def too_late_to_catch_up(slot: datetime, now: datetime, window_seconds: int | None) -> bool:
    """Whether `slot`, reached at `now`, is older than the catch-up window (None: no window)."""
    return window_seconds is not None and now - slot > timedelta(seconds=window_seconds)


def window_ended(next_run_at: datetime | None, end_at: datetime | None) -> bool:
    """Whether the schedule has no slot left: its next fire time is past its end."""
    return end_at is not None and (next_run_at is None or next_run_at > end_at)
