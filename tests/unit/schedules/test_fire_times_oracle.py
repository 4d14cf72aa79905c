"""Fire times around real DST transitions, checked against a minute-by-minute reference.

The reference walks every real minute and applies the documented rule directly:
- wildcard job (`*` in minute or hour): fires at every real minute whose local wall time matches;
- fixed-time job: fires at a real minute whose wall time matches on its first occurrence (fold 0),
  and at the first instant after a spring-forward gap if any wall time inside the gap matches.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import takewhile
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from agent_tasks.schedules import iter_fire_times
from agent_tasks.schedules.cron import five_fields, is_fixed_time

MINUTE = timedelta(minutes=1)
WINDOW = timedelta(hours=4)

ZONE_YEARS = [
    ("America/New_York", 2026),
    ("Europe/Berlin", 2026),
    ("Australia/Lord_Howe", 2026),  # 30-minute shift
    ("America/Sao_Paulo", 2018),  # transitions at midnight
    ("Pacific/Apia", 2011),  # skipped 30 December 2011 entirely
    ("America/St_Johns", 2026),  # -03:30 / -02:30
]
EXPRESSIONS = [
    "30 2 * * *",
    "0,30 2 * * *",
    "15 2 * * *",
    "45 1 * * *",
    "0 0 * * *",
    "30 23 * * *",
    "0 1-3 * * *",
    "5,35 0-4 * * *",
    "30 * * * *",
    "*/15 * * * *",
    "*/30 2 * * *",
    "*/7 * * * *",
    "0 */2 * * *",
    "* 2 * * *",
]


@cache
def transitions(zone_name: str, year: int) -> list[datetime]:
    """UTC instants in `year` at which the zone's offset changes (to the minute)."""
    zone = ZoneInfo(zone_name)
    found = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    while moment < end:
        following = moment + timedelta(hours=1)
        if moment.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset():
            minute = moment
            while minute.astimezone(zone).utcoffset() == moment.astimezone(zone).utcoffset():
                minute += MINUTE
            found.append(minute)
        moment = following
    return found


def matching_wall_times(expanded: str, first: datetime, last: datetime) -> set[datetime]:
    """Every naive wall time in [first, last] the expression matches (croniter, no time zones)."""
    walls = croniter(expanded, first - MINUTE)
    found = set()
    while (wall := walls.get_next(datetime)) <= last:
        found.add(wall)
    return found


def reference(expression: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    expanded = five_fields(expression)
    fixed = is_fixed_time(expanded)
    # Wall times around a transition stay within a day of the instants' UTC times
    matching = matching_wall_times(
        expanded, start.replace(tzinfo=None) - timedelta(days=1), end.replace(tzinfo=None) + timedelta(days=1)
    )
    fires = []
    moment = start + MINUTE
    while moment <= end:
        local = moment.astimezone(zone)
        wall = local.replace(tzinfo=None)
        before = (moment - MINUTE).astimezone(zone)
        if fixed:
            matches = wall in matching and local.fold == 0
            gap = (local.utcoffset() or MINUTE) - (before.utcoffset() or MINUTE)
            if gap > timedelta(0):
                # Wall times from (before + 1 minute) up to, not including, `wall` never happen
                skipped = before.replace(tzinfo=None) + MINUTE
                while skipped < wall and not matches:
                    matches = skipped in matching
                    skipped += MINUTE
        else:
            matches = wall in matching
        if matches:
            fires.append(moment)
        moment += MINUTE
    return fires


CASES = [
    pytest.param(zone_name, year, index, id=f"{zone_name}-{year}-{index}")
    for zone_name, year in ZONE_YEARS
    for index in range(len(transitions(zone_name, year)))
]


def test_every_zone_has_transitions_to_check() -> None:
    assert all(transitions(zone_name, year) for zone_name, year in ZONE_YEARS)


@pytest.mark.parametrize(("zone_name", "year", "index"), CASES)
@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_fire_times_match_the_reference_around_a_transition(
    zone_name: str, year: int, index: int, expression: str
) -> None:
    # Given a window of four hours either side of a real transition
    zone = ZoneInfo(zone_name)
    transition = transitions(zone_name, year)[index]
    start, end = transition - WINDOW, transition + WINDOW
    expected = reference(expression, zone, start, end)
    # When the fire times are asked for forwards and backwards
    forwards = list(takewhile(lambda moment: moment <= end, iter_fire_times(expression, zone_name, start)))
    backwards = list(
        takewhile(lambda moment: moment > start, iter_fire_times(expression, zone_name, end, backwards=True))
    )
    # Then both give exactly the reference's instants
    assert forwards == expected
    assert backwards[::-1] == expected
