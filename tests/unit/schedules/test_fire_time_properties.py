"""Properties over random valid expressions, zones and instants (hypothesis)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agent_tasks.schedules import (
    describe_cron,
    next_fire_time,
    next_fire_times,
    plan_tick,
    previous_fire_times,
    validate_cron,
)
from agent_tasks.schedules.cron import five_fields, is_fixed_time

# Zones with the awkward transitions: hour shifts both ways, a half-hour shift (Lord Howe),
# southern-hemisphere DST, a skipped day (Apia, 2011-12-30), and no DST at all.
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Pacific/Apia",
    "Asia/Kolkata",
]
BOUNDS = {"minute": (0, 59), "hour": (0, 23), "dom": (1, 28), "month": (1, 12), "dow": (0, 7)}


@st.composite
def field(draw: st.DrawFn, name: str) -> str:
    low, high = BOUNDS[name]
    items = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["star", "value", "range", "star-step", "range-step"]))
        start = draw(st.integers(low, high))
        end = draw(st.integers(start, high))
        step = draw(st.integers(1, max(1, high // 2)))
        items.append(
            {
                "star": "*",
                "value": f"{start}",
                "range": f"{start}-{end}",
                "star-step": f"*/{step}",
                "range-step": f"{start}-{end}/{step}",
            }[kind]
        )
    return ",".join(items)


@st.composite
def expressions(draw: st.DrawFn) -> str:
    return " ".join(draw(field(name)) for name in BOUNDS)


instants = st.datetimes(
    min_value=datetime(2005, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
common = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@common
@given(expression=expressions(), timezone=st.sampled_from(ZONES), after=instants)
def test_fire_times_strictly_increase_after_the_start(
    expression: str, timezone: str, after: datetime
) -> None:
    times = next_fire_times(validate_cron(expression), timezone, after, 6)
    assert len(times) == 6
    assert times[0] > after
    assert all(earlier < later for earlier, later in itertools.pairwise(times))
    assert all(moment.tzinfo is UTC and moment.second == 0 and moment.microsecond == 0 for moment in times)


@common
@given(expression=expressions(), timezone=st.sampled_from(ZONES), after=instants)
def test_each_fire_time_matches_the_expression_in_local_time(
    expression: str, timezone: str, after: datetime
) -> None:
    zone = ZoneInfo(timezone)
    expanded = five_fields(expression)
    for moment in next_fire_times(expression, timezone, after, 6):
        if croniter.match(expanded, moment.astimezone(zone).replace(tzinfo=None)):
            continue
        # Otherwise it is a fixed-time slot moved out of a spring-forward gap: it sits exactly on
        # the transition, where the offset has just grown
        assert is_fixed_time(expanded)
        assert offset_at(moment, zone) > offset_at(moment - timedelta(seconds=1), zone)


def offset_at(moment: datetime, zone: ZoneInfo) -> timedelta:
    offset = moment.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


@common
@given(expression=expressions(), after=instants)
def test_in_utc_the_fire_times_are_croniters(expression: str, after: datetime) -> None:
    expanded = five_fields(expression)
    walls = croniter(expanded, after.replace(tzinfo=None))
    expected = [walls.get_next(datetime).replace(tzinfo=UTC) for _ in range(5)]
    assert next_fire_times(expression, "UTC", after, 5) == expected


@common
@given(expression=expressions(), timezone=st.sampled_from(ZONES), at=instants)
def test_backwards_and_forwards_agree(expression: str, timezone: str, at: datetime) -> None:
    # The latest slot at or before `at`, then the next one, bracket `at` with no slot in between
    previous = previous_fire_times(expression, timezone, at, 1)
    assume(previous)
    following = next_fire_time(expression, timezone, previous[0])
    assert previous[0] <= at < following
    assert next_fire_time(expression, timezone, at) == following


@common
@given(
    expression=expressions(),
    timezone=st.sampled_from(ZONES),
    stored=instants,
    outage=st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=36)),
)
def test_a_tick_runs_one_slot_and_lands_after_now(
    expression: str, timezone: str, stored: datetime, outage: timedelta
) -> None:
    stored = stored.replace(second=0, microsecond=0)
    now = stored + outage
    plan = plan_tick(stored, now, expression, timezone)
    assert plan.due
    assert plan.run_slot is not None
    assert stored <= plan.run_slot <= now
    assert plan.next_run_at > now
    assert plan.next_run_at == next_fire_time(expression, timezone, now)
    if plan.skipped_count:
        assert plan.first_skipped == stored
        assert plan.last_skipped is not None
        assert stored <= plan.last_skipped < plan.run_slot


@common
@given(expression=expressions())
def test_describe_never_raises_for_a_valid_expression(expression: str) -> None:
    assert describe_cron(expression)
