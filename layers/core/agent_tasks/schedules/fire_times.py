"""When a cron expression fires, as aware UTC datetimes, with daylight saving handled on purpose.

croniter walks the expression over naive local wall-clock times; each wall time is then mapped
to real instants here, because croniter's own handling of aware datetimes repeats fixed-time
jobs on fall-back days. The rule is Vixie cron's (the `cron(8)` man page, "daylight savings"):

* Fixed-time jobs (neither the minute nor the hour field starts with `*`, e.g. `30 2 * * *`):
  - spring forward: a wall time inside the gap (02:30 on 2026-03-08 in America/New_York, where
    02:00-03:00 does not exist) fires once at the first real instant after the gap (03:00
    EDT); several gap slots of one job on that day collapse into that single run;
  - fall back: a repeated wall time (01:30 on 2026-11-01 in New York) fires once, at its
    first occurrence (01:30 EDT, 05:30 UTC).
* Wildcard jobs (minute or hour starts with `*`, e.g. `30 * * * *`, `*/15 * * * *`, @hourly)
  fire on every real occurrence: a wall time in the gap does not exist and is skipped, and a
  repeated wall time fires twice (01:30 EDT and 01:30 EST are different real hours). So an
  hourly job runs every real hour across both transitions, no more and no fewer.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import islice

from croniter import croniter

from agent_tasks.schedules.cron import five_fields, is_fixed_time
from agent_tasks.schedules.zones import zone_for

# Offsets are sampled this far from the start to find a nearby fall-back (transitions are
# months apart; the one that matters lies within a few hours of the start).
_OFFSET_SAMPLES = tuple(timedelta(hours=hours) for hours in (0, 3, 12, 24, 48))
_ONE_MINUTE = timedelta(minutes=1)


def next_fire_times(expression: str, timezone: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` fire times strictly after `after`, ascending, as aware UTC datetimes."""
    _require_aware("after", after)
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    return list(islice(iter_fire_times(expression, timezone, after), count))


def next_fire_time(expression: str, timezone: str, after: datetime) -> datetime:
    """The first fire time strictly after `after` (aware UTC)."""
    return next_fire_times(expression, timezone, after, 1)[0]


def previous_fire_times(expression: str, timezone: str, at_or_before: datetime, count: int) -> list[datetime]:
    """The latest `count` fire times at or before `at_or_before`, newest first, aware UTC."""
    _require_aware("at_or_before", at_or_before)
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    return list(islice(iter_fire_times(expression, timezone, at_or_before, backwards=True), count))


def iter_fire_times(
    expression: str, timezone: str, start: datetime, *, backwards: bool = False
) -> Iterator[datetime]:
    """Fire times strictly after `start` ascending or, with `backwards`, at or before it descending.

    Endless (validation guarantees the expression fires at least once every few years). The
    arguments are checked here, before the first item is asked for."""
    _require_aware("start", start)
    expanded = five_fields(expression)
    return _walk(expanded, zone_for(timezone), start.astimezone(UTC), backwards=backwards)


def _walk(expanded: str, zone: tzinfo, start_utc: datetime, *, backwards: bool) -> Iterator[datetime]:
    fixed_time = is_fixed_time(expanded)
    # croniter walks naive wall times. Start from the earliest (latest, backwards) wall time an
    # instant after (at or before) `start` can show: just after a fall back that is earlier than
    # `start`'s own wall time.
    if backwards:
        widest = max(_offset(zone, start_utc - sample) for sample in _OFFSET_SAMPLES)
        walls = croniter(expanded, (start_utc + widest).replace(tzinfo=None) + _ONE_MINUTE)
        step = walls.get_prev
    else:
        narrowest = min(_offset(zone, start_utc + sample) for sample in _OFFSET_SAMPLES)
        walls = croniter(expanded, (start_utc + narrowest).replace(tzinfo=None) - _ONE_MINUTE)
        step = walls.get_next
    # Each wall time's first instant never decreases from one wall time to the next; only the
    # second occurrence of a repeated wall time comes later. So an instant is final once a wall
    # time's first instant (last, backwards) has passed it; until then it waits in a heap.
    sign = -1 if backwards else 1
    pending: list[tuple[float, datetime]] = []
    last_yielded: datetime | None = None
    while True:
        wall: datetime = step(datetime)
        instants = _instants(wall, zone, fixed_time=fixed_time)
        if not instants:
            continue
        for instant in instants:
            if (instant <= start_utc) if backwards else (instant > start_utc):
                heapq.heappush(pending, (sign * instant.timestamp(), instant))
        settled = sign * (instants[-1] if backwards else instants[0]).timestamp()
        while pending and pending[0][0] <= settled:
            _, instant = heapq.heappop(pending)
            if instant != last_yielded:
                last_yielded = instant
                yield instant


def _offset(zone: tzinfo, moment: datetime) -> timedelta:
    return moment.astimezone(zone).utcoffset() or timedelta(0)


def _instants(wall: datetime, zone: tzinfo, *, fixed_time: bool) -> list[datetime]:
    """The real instants (UTC, ascending) at which a matching local wall time fires, per the module's rule."""
    earlier = wall.replace(tzinfo=zone, fold=0)
    later = wall.replace(tzinfo=zone, fold=1)
    if earlier.utcoffset() == later.utcoffset():
        return [earlier.astimezone(UTC)]
    if earlier.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
        # Repeated wall time (fall back): fold=0 is the first occurrence.
        first = earlier.astimezone(UTC)
        return [first] if fixed_time else [first, later.astimezone(UTC)]
    # Wall time inside a gap (spring forward).
    return [_gap_end(earlier, later)] if fixed_time else []


def _gap_end(earlier: datetime, later: datetime) -> datetime:
    """The transition instant that opens the gap a wall time falls in: its first real instant after."""
    # For a wall time in a gap the two folds land either side of the transition.
    low, high = sorted((int(earlier.astimezone(UTC).timestamp()), int(later.astimezone(UTC).timestamp())))
    zone = earlier.tzinfo
    offset_after = datetime.fromtimestamp(high, tz=zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz=zone).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, tz=UTC)


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value.isoformat()}")
