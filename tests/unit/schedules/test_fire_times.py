"""next_fire_times / previous_fire_times: aware UTC, strictly after, and daylight saving on purpose.

The DST rule (see agent_tasks.schedules.fire_times): fixed-time jobs run once a day across both
transitions (gap -> first instant after the gap; repeat -> first occurrence); wildcard jobs
(`*` in minute or hour) run on every real occurrence.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent_tasks.schedules import next_fire_time, next_fire_times, previous_fire_times

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def local_labels(times: list[datetime], zone: ZoneInfo) -> list[str]:
    return [f"{moment.astimezone(zone):%Y-%m-%d %H:%M %Z}" for moment in times]


# --- plain cases ---------------------------------------------------------------------------


def test_weekday_mornings_in_utc() -> None:
    # Given Friday 2026-01-02 10:00Z, When asking for 3 weekday 09:00 slots, Then Mon, Tue, Wed
    times = next_fire_times("0 9 * * MON-FRI", "UTC", after=utc(2026, 1, 2, 10), count=3)
    assert times == [utc(2026, 1, 5, 9), utc(2026, 1, 6, 9), utc(2026, 1, 7, 9)]
    assert all(moment.tzinfo is UTC for moment in times)


def test_fire_times_are_strictly_after_the_given_instant() -> None:
    # Given `after` exactly on a slot, Then that slot is not returned
    assert next_fire_time("*/15 * * * *", "UTC", after=utc(2026, 1, 1, 12, 15)) == utc(2026, 1, 1, 12, 30)


def test_after_in_another_offset_is_the_same_instant() -> None:
    # Given `after` expressed in Berlin time, Then the result is still computed on the real instant
    after = datetime(2026, 1, 1, 13, 0, tzinfo=BERLIN)  # 12:00Z
    assert next_fire_time("0 * * * *", "UTC", after=after) == utc(2026, 1, 1, 13)


def test_daily_in_berlin_follows_its_offset_across_the_year() -> None:
    # Given 09:00 daily in Berlin, Then 08:00Z in winter (CET) and 07:00Z in summer (CEST)
    around_spring = next_fire_times("0 9 * * *", "Europe/Berlin", after=utc(2026, 3, 28), count=2)
    assert around_spring == [utc(2026, 3, 28, 8), utc(2026, 3, 29, 7)]
    around_autumn = next_fire_times("0 9 * * *", "Europe/Berlin", after=utc(2026, 10, 24), count=2)
    assert around_autumn == [utc(2026, 10, 24, 7), utc(2026, 10, 25, 8)]


def test_daily_in_new_york_follows_its_offset() -> None:
    # Given 09:00 on weekdays in New York, Then 14:00Z (EST) before and 13:00Z (EDT) after 8 March
    times = next_fire_times("0 9 * * MON-FRI", "America/New_York", after=utc(2026, 3, 6), count=2)
    assert times == [utc(2026, 3, 6, 14), utc(2026, 3, 9, 13)]


def test_leap_day_schedule_waits_for_the_next_leap_year() -> None:
    assert next_fire_time("0 0 29 2 *", "UTC", after=utc(2026, 3, 1)) == utc(2028, 2, 29)


def test_nickname_fires_like_its_expansion() -> None:
    after = utc(2026, 5, 5, 5, 5)
    assert next_fire_times("@weekly", "Europe/Berlin", after, 3) == next_fire_times(
        "0 0 * * 0", "Europe/Berlin", after, 3
    )


def test_count_zero_gives_nothing_and_negative_is_refused() -> None:
    assert next_fire_times("* * * * *", "UTC", after=utc(2026, 1, 1), count=0) == []
    with pytest.raises(ValueError, match="count must not be negative"):
        next_fire_times("* * * * *", "UTC", after=utc(2026, 1, 1), count=-1)


@pytest.mark.parametrize(
    ("expression", "timezone", "after", "reason"),
    [
        ("* * * * *", "UTC", datetime(2026, 1, 1), "after must be a timezone-aware datetime"),
        ("61 * * * *", "UTC", utc(2026, 1, 1), "minute field: 61 is out of range 0-59"),
        ("* * * * *", "Mars/Base", utc(2026, 1, 1), "unknown timezone 'Mars/Base'"),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(
    expression: str, timezone: str, after: datetime, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        next_fire_times(expression, timezone, after, 1)


def test_previous_fire_times_are_at_or_before_newest_first() -> None:
    # Given a slot exactly at `at_or_before`, Then it is included, newest first
    times = previous_fire_times("*/15 * * * *", "UTC", at_or_before=utc(2026, 1, 1, 12, 15), count=3)
    assert times == [utc(2026, 1, 1, 12, 15), utc(2026, 1, 1, 12), utc(2026, 1, 1, 11, 45)]


# --- daylight saving: fixed-time jobs --------------------------------------------------------


def test_spring_forward_daily_in_the_gap_runs_once_at_the_end_of_the_gap() -> None:
    # Given 02:30 daily in New York, and 2026-03-08 where 02:00-03:00 does not exist
    times = next_fire_times("30 2 * * *", "America/New_York", after=utc(2026, 3, 7), count=3)
    # Then the 8th runs exactly once, at 03:00 EDT, and the days around it at 02:30
    assert local_labels(times, NEW_YORK) == [
        "2026-03-07 02:30 EST",
        "2026-03-08 03:00 EDT",
        "2026-03-09 02:30 EDT",
    ]
    assert times[1] == utc(2026, 3, 8, 7)


def test_spring_forward_several_gap_slots_of_one_job_collapse_into_one_run() -> None:
    # Given 02:00 and 02:30 daily, both inside the gap on 2026-03-08
    times = next_fire_times("0,30 2 * * *", "America/New_York", after=utc(2026, 3, 8), count=3)
    # Then one run at 03:00 EDT that day, two the next
    assert local_labels(times, NEW_YORK) == [
        "2026-03-08 03:00 EDT",
        "2026-03-09 02:00 EDT",
        "2026-03-09 02:30 EDT",
    ]


def test_spring_forward_in_berlin_and_a_half_hour_shift_in_lord_howe() -> None:
    # Given Berlin 2026-03-29 (02:00-03:00 missing): 02:30 runs at 03:00 CEST = 01:00Z
    assert next_fire_time("30 2 * * *", "Europe/Berlin", after=utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 1)
    # Given Lord Howe 2026-10-04 (02:00-02:30 missing, +10:30 -> +11): 02:15 runs at 02:30 local
    slot = next_fire_time("15 2 * * *", "Australia/Lord_Howe", after=utc(2026, 10, 3, 12))
    assert f"{slot.astimezone(ZoneInfo('Australia/Lord_Howe')):%Y-%m-%d %H:%M %z}" == "2026-10-04 02:30 +1100"


def test_fall_back_daily_in_the_repeated_hour_runs_once_at_the_first_occurrence() -> None:
    # Given 01:30 daily in New York, and 2026-11-01 where 01:00-02:00 happens twice
    times = next_fire_times("30 1 * * *", "America/New_York", after=utc(2026, 10, 31), count=3)
    # Then the 1st runs exactly once, at 01:30 EDT (05:30Z), not again at 01:30 EST
    assert local_labels(times, NEW_YORK) == [
        "2026-10-31 01:30 EDT",
        "2026-11-01 01:30 EDT",
        "2026-11-02 01:30 EST",
    ]
    assert times[1] == utc(2026, 11, 1, 5, 30)


def test_fall_back_fixed_hours_range_does_not_repeat_the_repeated_hour() -> None:
    # Given 00:30-03:30 hourly as a fixed hour list, on the New York fall-back day
    times = next_fire_times("30 0-3 * * *", "America/New_York", after=utc(2026, 11, 1), count=4)
    # Then each listed wall time runs once
    assert local_labels(times, NEW_YORK) == [
        "2026-11-01 00:30 EDT",
        "2026-11-01 01:30 EDT",
        "2026-11-01 02:30 EST",
        "2026-11-01 03:30 EST",
    ]


def test_fall_back_in_berlin_runs_the_first_occurrence() -> None:
    # Given 02:30 daily in Berlin, and 2026-10-25 where 02:00-03:00 happens twice
    assert next_fire_time("30 2 * * *", "Europe/Berlin", after=utc(2026, 10, 24, 12)) == utc(
        2026, 10, 25, 0, 30
    )


# --- daylight saving: wildcard jobs ----------------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "transition_day"),
    [
        ("America/New_York", utc(2026, 3, 8)),
        ("America/New_York", utc(2026, 11, 1)),
        ("Europe/Berlin", utc(2026, 3, 29)),
        ("Europe/Berlin", utc(2026, 10, 25)),
    ],
)
def test_hourly_runs_every_real_hour_across_a_transition(timezone: str, transition_day: datetime) -> None:
    # Given "30 * * * *" over the three days around a DST transition
    start = transition_day - timedelta(days=1)
    times = next_fire_times("30 * * * *", timezone, after=start, count=72)
    # Then it fires every real hour: 72 runs exactly one hour apart, neither gap nor burst
    assert times[0] == start + timedelta(minutes=30)
    assert all(later - earlier == timedelta(hours=1) for earlier, later in itertools.pairwise(times))


def test_hourly_fires_at_both_real_0130s_on_fall_back_and_skips_the_missing_0230() -> None:
    fall = next_fire_times("30 * * * *", "America/New_York", after=utc(2026, 11, 1, 4), count=3)
    assert local_labels(fall, NEW_YORK) == [
        "2026-11-01 00:30 EDT",
        "2026-11-01 01:30 EDT",
        "2026-11-01 01:30 EST",
    ]
    spring = next_fire_times("30 * * * *", "America/New_York", after=utc(2026, 3, 8, 5), count=3)
    assert local_labels(spring, NEW_YORK) == [
        "2026-03-08 00:30 EST",
        "2026-03-08 01:30 EST",
        "2026-03-08 03:30 EDT",
    ]


def test_every_fifteen_minutes_runs_through_the_repeated_hour_in_real_time_order() -> None:
    times = next_fire_times("*/15 * * * *", "America/New_York", after=utc(2026, 11, 1, 4, 50), count=9)
    assert times == [utc(2026, 11, 1, 5) + timedelta(minutes=15 * step) for step in range(9)]


def test_previous_fire_times_walk_back_through_the_repeated_hour() -> None:
    times = previous_fire_times("*/30 * * * *", "America/New_York", at_or_before=utc(2026, 11, 1, 7), count=5)
    assert times == [utc(2026, 11, 1, 7) - timedelta(minutes=30 * step) for step in range(5)]


def test_wildcard_minute_in_a_missing_hour_does_not_run_that_day() -> None:
    # Given every 30 minutes during 02:xx (minute is a wildcard), Then the spring-forward day has
    # no 02:xx and no run (Vixie cron's rule for wildcard jobs)
    times = next_fire_times("*/30 2 * * *", "America/New_York", after=utc(2026, 3, 7, 12), count=2)
    assert local_labels(times, NEW_YORK) == ["2026-03-09 02:00 EDT", "2026-03-09 02:30 EDT"]


def test_arguments_are_checked_even_when_nothing_is_asked_for() -> None:
    # Given count 0, Then an invalid expression is still refused rather than silently accepted
    with pytest.raises(ValueError, match="minute field: 61 is out of range 0-59"):
        next_fire_times("61 * * * *", "UTC", after=utc(2026, 1, 1), count=0)
