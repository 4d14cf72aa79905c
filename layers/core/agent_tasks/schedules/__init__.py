"""Schedules, the pure-domain half: cron and time zone validation, fire times across daylight
saving, the due-index keys, tick/overlap/pause policies and slot identities.

No AWS here: the store, the scheduler Lambda and the API call these functions and pass the
clock in (`now`, `after`); nothing in this package reads the wall clock.
"""

from __future__ import annotations

from agent_tasks.models.common import OverlapPolicy
from agent_tasks.schedules.cron import NICKNAMES, describe_cron, validate_cron
from agent_tasks.schedules.due_index import (
    DUE_PARTITION_PREFIX,
    due_partition_key,
    due_shard,
    due_sort_key,
    due_sort_key_upper_bound,
    parse_due_sort_key,
)
from agent_tasks.schedules.fire_times import (
    iter_fire_times,
    next_fire_time,
    next_fire_times,
    previous_fire_times,
)
from agent_tasks.schedules.policy import (
    MAX_COUNTED_SKIPPED_SLOTS,
    OverlapDecision,
    TickPlan,
    overlap_decision,
    plan_tick,
    should_pause,
)
from agent_tasks.schedules.slots import slot_execution_id, slot_idempotency_key
from agent_tasks.schedules.zones import DEFAULT_TIMEZONE, validate_timezone

__all__ = [
    "DEFAULT_TIMEZONE",
    "DUE_PARTITION_PREFIX",
    "MAX_COUNTED_SKIPPED_SLOTS",
    "NICKNAMES",
    "OverlapDecision",
    "OverlapPolicy",
    "TickPlan",
    "describe_cron",
    "due_partition_key",
    "due_shard",
    "due_sort_key",
    "due_sort_key_upper_bound",
    "iter_fire_times",
    "next_fire_time",
    "next_fire_times",
    "overlap_decision",
    "parse_due_sort_key",
    "plan_tick",
    "previous_fire_times",
    "should_pause",
    "slot_execution_id",
    "slot_idempotency_key",
    "validate_cron",
    "validate_timezone",
]
