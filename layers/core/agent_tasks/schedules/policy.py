"""What the scheduler does with a due task: which slot runs, what is skipped, whether to start or pause.

Pure decisions on values the caller passes in (the clock included), so each is testable alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import takewhile
from typing import Literal, get_args

from agent_tasks.models.common import OverlapPolicy
from agent_tasks.schedules.fire_times import iter_fire_times, next_fire_time, previous_fire_times

OverlapDecision = Literal["start", "skip", "queue", "cancel_others"]

# Counting skipped slots walks them one by one; past this many the count is reported as a floor,
# so one task left unscheduled for months cannot stall a tick.
MAX_COUNTED_SKIPPED_SLOTS = 10_000


@dataclass(frozen=True, slots=True)
class TickPlan:
    """One tick's decision for one task. All datetimes are aware UTC.

    `run_slot` is None when the task is not due yet (then nothing else changes and `next_run_at`
    is the stored value). `skipped_count` is exact unless `skipped_count_exact` is False, when
    it is a lower bound (MAX_COUNTED_SKIPPED_SLOTS).
    """

    run_slot: datetime | None
    skipped_count: int
    skipped_count_exact: bool
    first_skipped: datetime | None
    last_skipped: datetime | None
    next_run_at: datetime

    @property
    def due(self) -> bool:
        return self.run_slot is not None


def plan_tick(next_run_at: datetime, now: datetime, expression: str, timezone: str) -> TickPlan:
    """Decide a tick for a task whose stored `next_run_at` may be at or before `now`.

    The due slots are the stored `next_run_at` (promised when it was written) and every fire time
    after it up to and including `now`. After an outage only the latest of them runs, once;
    the others are skipped (reported for the record, never run in a burst). The new
    `next_run_at` is the first fire time strictly after `now`.
    """
    for name, value in (("next_run_at", next_run_at), ("now", now)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value.isoformat()}")
    stored = next_run_at.astimezone(UTC)
    if stored > now:
        return TickPlan(
            run_slot=None,
            skipped_count=0,
            skipped_count_exact=True,
            first_skipped=None,
            last_skipped=None,
            next_run_at=stored,
        )
    upcoming = next_fire_time(expression, timezone, after=now)
    latest = [slot for slot in previous_fire_times(expression, timezone, now, 2) if slot > stored]
    if not latest:
        return TickPlan(
            run_slot=stored,
            skipped_count=0,
            skipped_count_exact=True,
            first_skipped=None,
            last_skipped=None,
            next_run_at=upcoming,
        )
    run_slot = latest[0]
    # Skipped: the stored slot plus every fire time strictly between it and the run slot.
    between = takewhile(lambda slot: slot < run_slot, iter_fire_times(expression, timezone, stored))
    counted = 1 + sum(1 for _ in zip(range(MAX_COUNTED_SKIPPED_SLOTS - 1), between, strict=False))
    return TickPlan(
        run_slot=run_slot,
        skipped_count=counted,
        skipped_count_exact=counted < MAX_COUNTED_SKIPPED_SLOTS or _exhausted(between),
        first_skipped=stored,
        last_skipped=latest[1] if len(latest) > 1 else stored,
        next_run_at=upcoming,
    )


def _exhausted(remaining: Iterator[datetime]) -> bool:
    return next(remaining, None) is None


def overlap_decision(policy: OverlapPolicy, running_count: int, queued_count: int = 0) -> OverlapDecision:
    """What a due slot does while earlier runs of the task are going (`running_count`, queued ones
    included) of which `queued_count` are queued: `skip` under the `skip` policy; under `buffer_one`
    `queue` it (it starts when the current run ends) unless one is already waiting, then `skip`;
    under `cancel_other`, `cancel_others` then start it."""
    if policy not in get_args(OverlapPolicy):
        raise ValueError(f"overlap policy must be one of {get_args(OverlapPolicy)}, got {policy!r}")
    if running_count < 0:
        raise ValueError(f"running_count must not be negative, got {running_count}")
    if not 0 <= queued_count <= running_count:
        raise ValueError(f"queued_count ({queued_count}) must be part of running_count ({running_count})")
    if running_count == 0 or policy == "allow":
        return "start"
    if policy == "buffer_one":
        return "queue" if queued_count == 0 else "skip"
    return "cancel_others" if policy == "cancel_other" else "skip"


def should_pause(consecutive_failures: int, pause_after_failures: int | None) -> bool:
    """Pause the schedule once failures in a row reach the task's limit (None: never pause)."""
    if consecutive_failures < 0:
        raise ValueError(f"consecutive_failures must not be negative, got {consecutive_failures}")
    if pause_after_failures is None:
        return False
    if pause_after_failures < 1:
        raise ValueError(f"pause_after_failures must be at least 1, got {pause_after_failures}")
    return consecutive_failures >= pause_after_failures
