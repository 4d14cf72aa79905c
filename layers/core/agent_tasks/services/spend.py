"""Spend caps per user: the limits API, the usage API, and the checks that enforce the caps.

Spend is rolled up as each model call's message is stored (store/usage.py); here it is read back:
a new execution is refused at a cap (429), a scheduled slot is skipped, a run in progress stops
after its current turn, and `BudgetReached` goes on the bus once per period at the soft alert
and once at the cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent_tasks.errors import SpendCapReachedError, ValidationFailedError
from agent_tasks.models.common import API_BASE, utc_now
from agent_tasks.models.limits import (
    PERIODS,
    Period,
    SpendLimits,
    SpendLimitsInput,
    SpendLimitsResponse,
    UsageResponse,
    period_end,
    period_key,
    period_start,
)
from agent_tasks.models.notifications import BUDGET_REACHED
from agent_tasks.models.transcript import TranscriptMessage
from agent_tasks.observability import logger
from agent_tasks.services.actor import Actor
from agent_tasks.services.bus_events import put_task_event
from agent_tasks.settings import get_settings
from agent_tasks.store import audit as audit_store
from agent_tasks.store import usage as usage_store


@dataclass(frozen=True, slots=True)
class CapReached:
    """A cap that is reached: which, how much was spent, and when it resets."""

    period: Period
    cap_usd: float
    spent_usd: float
    resets_at: datetime

    @property
    def field(self) -> str:
        return "daily_usd" if self.period == "day" else "monthly_usd"

    def error(self) -> SpendCapReachedError:
        message = (
            f"your {self.field} spend cap of {self.cap_usd} USD is reached ({self.spent_usd} USD spent); "
            f"no new run starts before {self.resets_at.isoformat()}"
        )
        detail = {
            "loc": ["limits", self.field],
            "msg": message,
            "type": "spend_cap_reached",
            "ctx": {
                "period": self.period,
                "cap_usd": self.cap_usd,
                "spent_usd": self.spent_usd,
                "resets_at": self.resets_at.isoformat(),
            },
        }
        return SpendCapReachedError(message, details=[detail])


# -- the API -------------------------------------------------------------------------------------------


def get_limits(actor: Actor) -> SpendLimitsResponse:
    """The caller's own caps (none set: every cap null); there is no way to name another user's."""
    limits = usage_store.get_limits(actor.user_id) or SpendLimits(owner_id=actor.user_id)
    return SpendLimitsResponse.of(limits)


def put_limits(actor: Actor, body: SpendLimitsInput) -> SpendLimitsResponse:
    """Replace the caller's caps, audited; contradictory caps are a 422 naming the field."""
    fault = body.inconsistency()
    if fault is not None:
        raise ValidationFailedError.for_field(f"body.{fault[0]}", fault[1])
    now = utc_now()
    current = usage_store.get_limits(actor.user_id)
    version = current.version if current else 0
    limits = SpendLimits(**body.model_dump(), owner_id=actor.user_id, version=version + 1, updated_at=now)
    before = current or SpendLimits(owner_id=actor.user_id)
    changed = [
        name for name in SpendLimitsInput.model_fields if getattr(before, name) != getattr(limits, name)
    ]
    audit = audit_store.new_event(
        actor_id=actor.user_id,
        owner_id=actor.user_id,
        action="limits.updated",
        resource_type="limits",
        resource_id=actor.user_id,
        at=now,
        request_id=actor.request_id,
        changed_fields=changed,
        details=body.model_dump(),
    )
    usage_store.put_limits(limits, audit, expected_version=version)
    return SpendLimitsResponse.of(limits)


def usage(actor: Actor, period: Period, *, now: datetime | None = None) -> UsageResponse:
    """The caller's spend in the current UTC period: the total item and the per-task items."""
    now = now or utc_now()
    key = period_key(period, now)
    total, _alerted = usage_store.period_usage(actor.user_id, period, key)
    tasks = sorted(usage_store.task_usage(actor.user_id, period, key), key=lambda t: (-t.cost_usd, t.task_id))
    limits = usage_store.get_limits(actor.user_id)
    return UsageResponse(
        period=period,
        period_key=key,
        starts_at=period_start(period, now),
        resets_at=period_end(period, now),
        cap_usd=limits.cap(period) if limits else None,
        soft_alert_usd=limits.soft_alert_usd if limits else None,
        total=total,
        tasks=tasks,
        links={"self": f"{API_BASE}/usage?period={period}", "limits": f"{API_BASE}/limits"},
    )


# -- enforcement ---------------------------------------------------------------------------------------


def check(owner_id: str, *, now: datetime | None = None, task_id: str | None = None) -> CapReached | None:
    """The first cap the owner has reached now (None: none, or no caps); publishes due alerts (naming
    `task_id`, the task whose run found the budget reached, so its notification_config can hear it)."""
    return _check(owner_id, usage_store.get_limits(owner_id), now, task_id)


def _check(
    owner_id: str, limits: SpendLimits | None, now: datetime | None, task_id: str | None = None
) -> CapReached | None:
    if limits is None or (
        limits.daily_usd is None and limits.monthly_usd is None and limits.soft_alert_usd is None
    ):
        return None
    now = now or utc_now()
    reached: CapReached | None = None
    for period in PERIODS:
        key = period_key(period, now)
        figures, alerted = usage_store.period_usage(owner_id, period, key)
        spent = round(figures.cost_usd, 8)
        cap = limits.cap(period)
        for level, threshold in (("soft_alert", limits.soft_alert_usd), ("cap", cap)):
            if threshold is not None and spent >= threshold and spent > 0 and level not in alerted:
                _alert(owner_id, period, key, level, threshold, spent, period_end(period, now), task_id)
        if reached is None and cap is not None and spent >= cap:
            reached = CapReached(
                period=period, cap_usd=cap, spent_usd=spent, resets_at=period_end(period, now)
            )
    return reached


@dataclass(frozen=True)
class LimitsRead:
    """The owner's limits as already read with something else (`limits` None: they set none)."""

    limits: SpendLimits | None


def admit(
    owner_id: str,
    *,
    now: datetime | None = None,
    task_id: str | None = None,
    already_read: LimitsRead | None = None,
) -> int:
    """Before a new execution, with one read of the owner's limits (none when `already_read`): raise
    SpendCapReachedError (a 429 naming the cap and its reset time) when a cap is reached; else the days
    an execution of theirs is kept when its task does not say (theirs, else the service's)."""
    limits = already_read.limits if already_read is not None else usage_store.get_limits(owner_id)
    reached = _check(owner_id, limits, now, task_id)
    if reached is not None:
        raise reached.error()
    if limits is not None and limits.retention_days is not None:
        return limits.retention_days
    return get_settings().retention_days


def _alert(
    owner_id: str,
    period: Period,
    key: str,
    level: str,
    threshold: float,
    spent: float,
    resets_at: datetime,
    task_id: str | None = None,
) -> None:
    if not usage_store.mark_alerted(owner_id, period, key, level):
        return  # another run marked it first: one event per period and level
    logger.info("spend alert", extra={"owner_id": owner_id, "period": period, "level": level})
    put_task_event(
        BUDGET_REACHED,
        {
            "event": "budget_reached",
            "owner_id": owner_id,
            "task_id": task_id,
            "level": level,
            "period": period,
            "period_key": key,
            "threshold_usd": threshold,
            "spent_usd": spent,
            "resets_at": resets_at.isoformat(),
        },
    )


def rollup(owner_id: str, task_id: str, message: TranscriptMessage) -> list[dict[str, Any]]:
    """What to write with a stored message: its model call's cost added to the owner's spend."""
    if message.role != "assistant" or not message.cost_usd:
        return []
    return usage_store.rollup_items(owner_id, task_id, message.created_at, message.cost_usd, message.usage)
