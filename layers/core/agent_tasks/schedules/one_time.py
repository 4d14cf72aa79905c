"""One-time schedules: `run_at`, a single slot instead of a cron expression.

`run_at` is either an instant with its offset (`2026-12-24T09:00:00+01:00`) or a local date-time
without one (`2026-12-24T09:00`), read in the task's `schedule_timezone`; a whole minute, as cron
fire times are. A local time that the
zone skips (inside a spring-forward gap) does not exist and is refused; one it repeats (fall back)
is its first occurrence, as fixed-time cron jobs fire (fire_times.py). The slot runs through the
same scheduler path as a cron slot (claim, deterministic execution id, overlap and pause
policies); after it the schedule disables itself, saying why (services/scheduler.py).
Pure: the clock comes from the caller.
"""

from __future__ import annotations

from datetime import UTC, datetime

from agent_tasks.schedules.zones import zone_for

# The due index's keys hold the years 1000-9999 (due_index.py) and jitter may add up to an hour: a
# run_at at or after this cannot be scheduled (nor converted to UTC, near the end of year 9999).
LATEST_RUN_AT = datetime(9999, 1, 1, tzinfo=UTC)


def resolve_run_at(value: datetime, timezone: str) -> datetime:
    """The instant `value` names: as given when it has an offset, else its wall time in `timezone`
    (shown with that zone's offset). ValueError for a wall time the zone skips, or one that is not a
    whole minute (the scheduler fires once a minute, and a slot's identity is its minute)."""
    if value.second or value.microsecond:
        raise ValueError(
            f"must be a whole minute (the scheduler fires once a minute), got {value.isoformat()}"
        )
    if value.tzinfo is not None and value.utcoffset() is not None:
        _in_utc(value)
        return value
    zone = zone_for(timezone)
    local = value.replace(tzinfo=zone, fold=0)
    if _in_utc(local).astimezone(zone).replace(tzinfo=None) != value:
        raise ValueError(
            f"{value.isoformat()} does not exist in {timezone} (the clocks skip it for daylight saving); "
            "give a time outside the gap, or an instant with its offset"
        )
    return local


def _in_utc(instant: datetime) -> datetime:
    """`instant` in UTC; ValueError (not OverflowError, a 500) when it is out of the scheduler's range."""
    try:
        utc = instant.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or utc >= LATEST_RUN_AT:
        raise ValueError(
            f"{instant.isoformat()} is out of range: it must fall between 0001-01-01 and "
            f"{LATEST_RUN_AT.isoformat()} in UTC"
        )
    return utc


def one_time_next_run(
    run_at: datetime, *, after: datetime, start_at: datetime | None, end_at: datetime | None
) -> datetime | None:
    """The one slot of a one-time schedule (UTC) if it is still to come and inside the window."""
    slot = run_at.astimezone(UTC)
    if slot <= after or (start_at is not None and slot < start_at) or (end_at is not None and slot > end_at):
        return None
    return slot
