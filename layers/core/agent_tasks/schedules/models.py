"""Pydantic shapes for a task's schedule fields; validators raise ValueError with the reason, so
the API's 422 details name the field and say why."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from agent_tasks.schedules.cron import validate_cron
from agent_tasks.schedules.policy import OverlapPolicy
from agent_tasks.schedules.zones import DEFAULT_TIMEZONE, validate_timezone

CronExpression = Annotated[
    str,
    AfterValidator(validate_cron),
    Field(
        description="Five-field Unix cron expression (minute hour day-of-month month day-of-week), "
        "or @hourly/@daily/@weekly/@monthly/@yearly.",
        examples=["0 9 * * MON-FRI"],
    ),
]
TimezoneName = Annotated[
    str,
    AfterValidator(validate_timezone),
    Field(description="IANA time zone the cron expression is read in.", examples=["Europe/Berlin"]),
]
PauseAfterFailures = Annotated[
    int, Field(ge=1, le=100, description="Pause the schedule after this many failed runs in a row.")
]


class ScheduleSettings(BaseModel):
    """The schedule fields of a task."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schedule_cron: CronExpression
    schedule_timezone: TimezoneName = DEFAULT_TIMEZONE
    overlap_policy: OverlapPolicy = Field(
        default="skip", description="`skip` a slot while an earlier run is still going, or `allow` it."
    )
    pause_after_failures: PauseAfterFailures | None = None
