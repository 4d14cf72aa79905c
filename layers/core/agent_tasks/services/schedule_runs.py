"""Runs of a schedule on demand: run now, and backfill the slots of a past range.

- run now (POST /tasks/{id}/run-now): one execution at once, trigger `manual`, marked
  `trigger_metadata.run_now`; under `overlap_policy: skip` it is refused (409) while an earlier run
  is pending or running, and under `cancel_other` the runs still going are cancelled first, unless
  `force` (start beside them).
- backfill (POST /tasks/{id}/backfill, `{"from", "to"}`): every fire time of the task's schedule in
  [from, to] (at most BACKFILL_LIMIT), each an execution with the slot's own deterministic id
  (so a slot that already ran, scheduled or backfilled, is not run again) and the slot in
  `trigger_metadata`. The executions are written at once, pending, and started spaced out:
  through the start queue with a growing delay, BACKFILL_SPACING_SECONDS apart (inline, at once,
  where there is no queue).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import islice, takewhile
from typing import Annotated, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from agent_tasks import start_queue
from agent_tasks.errors import ConflictError, ValidationFailedError
from agent_tasks.models.common import API_BASE
from agent_tasks.models.executions import Execution
from agent_tasks.schedules import iter_fire_times, slot_execution_id
from agent_tasks.services import executions as execution_service
from agent_tasks.services.actor import Actor
from agent_tasks.services.tasks import owned_task
from agent_tasks.settings import get_settings
from agent_tasks.store import executions as execution_store

BACKFILL_LIMIT = 100
BACKFILL_SPACING_SECONDS = 5
# SQS delays a message by at most 15 minutes.
_MAX_DELAY_SECONDS = 900
# The overlap check looks at this many of the task's newest executions (as the scheduler does).
_OVERLAP_WINDOW = 25


class RunNowRequest(BaseModel):
    """The body of POST /tasks/{id}/run-now (optional)."""

    model_config = ConfigDict(extra="forbid")

    force: bool = Field(
        default=False, description="Start even while an earlier run is going under overlap_policy skip."
    )


class BackfillRequest(BaseModel):
    """The body of POST /tasks/{id}/backfill: a past range, both ends included."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: Annotated[AwareDatetime, Field(alias="from", description="Start of the range (with an offset).")]
    to: Annotated[AwareDatetime, Field(description="End of the range (with an offset), not in the future.")]

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.to < self.from_:
            raise ValueError("to must not be before from")
        return self


class BackfillResponse(BaseModel):
    task_id: str
    slots: list[datetime] = Field(description="Every fire time of the schedule in the range.")
    execution_ids: list[str] = Field(description="The executions started for slots that had not run yet.")
    already_ran: list[datetime] = Field(description="Slots that already have an execution: not run again.")
    spacing_seconds: int = Field(description="Seconds between two starts.")
    links: dict[str, str] = Field(alias="_links")

    model_config = ConfigDict(populate_by_name=True)


def run_now(actor: Actor, task_id: str, request: RunNowRequest, *, now: datetime) -> Execution:
    task = owned_task(actor, task_id, allow_deleted=True)
    if task.overlap_policy in ("skip", "cancel_other") and not request.force:
        active = execution_store.active_ids_for_task(task.id, newest=_OVERLAP_WINDOW)
        if active and task.overlap_policy == "skip":
            raise ConflictError(
                f"an earlier run ({active[0]}) is still going and overlap_policy is skip; "
                'send {"force": true} to start anyway'
            )
        for other in active:  # cancel_other: the runs still going end first, as the scheduler's slots do
            execution_service.cancel_superseded(
                other, reason="cancelled by run-now: overlap_policy is cancel_other"
            )
    return execution_service.create_and_start(
        task,
        {},
        trigger_type="manual",
        trigger_metadata={"run_now": True, "forced": request.force},
        actor=actor,
        now=now,
    )


def backfill(actor: Actor, task_id: str, request: BackfillRequest, *, now: datetime) -> BackfillResponse:
    task = owned_task(actor, task_id, allow_deleted=True)
    if not task.schedule_cron:
        raise ValidationFailedError.for_field(
            "body", "the task has no schedule_cron: there are no slots to run"
        )
    if request.to > now:
        raise ValidationFailedError.for_field("body.to", "must not be in the future")
    in_range = takewhile(
        lambda slot: slot <= request.to,
        iter_fire_times(task.schedule_cron, task.schedule_timezone, request.from_ - timedelta(seconds=1)),
    )
    slots = list(islice(in_range, BACKFILL_LIMIT + 1))
    if len(slots) > BACKFILL_LIMIT:
        raise ValidationFailedError.for_field(
            "body.to", f"the range holds more than {BACKFILL_LIMIT} slots; ask for at most {BACKFILL_LIMIT}"
        )
    if not slots:
        raise ValidationFailedError.for_field(
            "body.from", "the schedule has no fire time between from and to"
        )
    written: list[Execution] = []
    already: list[datetime] = []
    for slot in slots:
        try:
            written.append(
                execution_service.create_and_start(
                    task,
                    {},
                    trigger_type="manual",
                    trigger_metadata={"backfill": True, "slot": slot.isoformat()},
                    actor=actor,
                    now=now,
                    execution_id=slot_execution_id(task.id, slot),
                    start=False,
                )
            )
        except ConflictError:
            if execution_store.get(slot_execution_id(task.id, slot)) is None:
                raise
            already.append(slot)
    _start_spaced(written)
    base = f"{API_BASE}/tasks/{task.id}"
    return BackfillResponse(
        task_id=task.id,
        slots=slots,
        execution_ids=[execution.id for execution in written],
        already_ran=already,
        spacing_seconds=BACKFILL_SPACING_SECONDS,
        links={"self": f"{base}/backfill", "task": base, "executions": f"{base}/executions"},
    )


def _start_spaced(executions: list[Execution]) -> None:
    queue_url = get_settings().start_queue_url
    if not queue_url:
        for execution in executions:
            execution_service.ensure_started(execution)
        return
    from agent_tasks.services.slot_starts import ExecutionStart

    start_queue.send(
        queue_url,
        [ExecutionStart(execution_id=execution.id).model_dump_json() for execution in executions],
        delays=[min(_MAX_DELAY_SECONDS, n * BACKFILL_SPACING_SECONDS) for n in range(len(executions))],
    )
