"""A user's spend caps and the spend rolled up per UTC day and month (and per task)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent_tasks.models.common import API_BASE

Period = Literal["day", "month"]
PERIODS: tuple[Period, ...] = ("day", "month")
MAX_USD = 1_000_000.0

# A sum of dollars: not negative, finite, below a million.
Usd = Annotated[float, Field(ge=0, le=MAX_USD, allow_inf_nan=False)]


class SpendLimitsInput(BaseModel):
    """PUT /limits: the caps, each optional (null or absent: no cap). Replaces what was stored."""

    model_config = ConfigDict(extra="forbid", strict=True)  # no true for 1, no "5" for 5

    daily_usd: Usd | None = Field(
        default=None,
        description="Most the caller's model calls may cost in one UTC day; new runs are refused at it.",
    )
    monthly_usd: Usd | None = Field(default=None, description="Most they may cost in one UTC calendar month.")
    soft_alert_usd: Usd | None = Field(
        default=None,
        description="A `budget_reached` event (level `soft_alert`) once per day and per month when that "
        "period's spend reaches this; not above a cap that is set.",
    )
    retention_days: Annotated[int, Field(ge=1, le=400)] | None = Field(
        default=None, description="Days your executions are kept when their task does not say (default 90)."
    )

    def inconsistency(self) -> tuple[str, str] | None:
        """The field at fault and why, when the caps contradict each other."""
        if self.daily_usd is not None and self.monthly_usd is not None and self.daily_usd > self.monthly_usd:
            return "daily_usd", "daily_usd is above monthly_usd"
        for cap_name in ("daily_usd", "monthly_usd"):
            cap = getattr(self, cap_name)
            if self.soft_alert_usd is not None and cap is not None and self.soft_alert_usd > cap:
                return "soft_alert_usd", f"soft_alert_usd is above {cap_name}"
        return None


class SpendLimits(SpendLimitsInput):
    """The stored caps of one user (a user who never set any has none)."""

    model_config = ConfigDict(extra="ignore", strict=False)

    owner_id: str
    version: int = 0
    updated_at: datetime | None = None

    def cap(self, period: Period) -> float | None:
        return self.daily_usd if period == "day" else self.monthly_usd


class SpendLimitsResponse(SpendLimits):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    links: dict[str, str] = Field(alias="_links")

    @classmethod
    def of(cls, limits: SpendLimits) -> SpendLimitsResponse:
        return cls(
            **limits.model_dump(),
            links={"self": f"{API_BASE}/limits", "usage": f"{API_BASE}/usage?period=day"},
        )


def period_key(period: Period, at: datetime) -> str:
    """The UTC period `at` falls in: `2026-12-02` for a day, `2026-12` for a month."""
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%d") if period == "day" else at.strftime("%Y-%m")


def period_start(period: Period, at: datetime) -> datetime:
    at = at.astimezone(UTC)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if period == "day" else day.replace(day=1)


def period_end(period: Period, at: datetime) -> datetime:
    """When the period `at` falls in ends (and its cap resets): the next UTC midnight or month."""
    start = period_start(period, at)
    if period == "day":
        return start + timedelta(days=1)
    return (start + timedelta(days=32)).replace(day=1)


class UsageFigures(BaseModel):
    """Spend and model calls in a period (for the user, or one of their tasks)."""

    cost_usd: float = 0.0
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


class TaskUsage(UsageFigures):
    task_id: str


class UsageResponse(BaseModel):
    """GET /usage: the caller's spend in the current UTC day or month, in total and per task."""

    model_config = ConfigDict(populate_by_name=True)

    period: Period
    period_key: str = Field(description="`2026-12-02` for a day, `2026-12` for a month (UTC).")
    starts_at: datetime
    resets_at: datetime
    cap_usd: float | None = Field(description="The cap of this period, if one is set.")
    soft_alert_usd: float | None = None
    total: UsageFigures
    tasks: list[TaskUsage] = Field(description="Per task, most expensive first.")
    links: dict[str, str] = Field(alias="_links")
