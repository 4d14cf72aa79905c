"""A schedule that keeps failing pauses itself: counting scheduled runs' failures in a row, and the pause.

`record_outcome` is called once per execution that reaches a final status (services/outcomes.py
`announce`, which every path to a final status goes through). Completed ends a failure streak;
failed and timed_out extend it; cancelled (someone chose to stop it) does neither. Once the
streak reaches the task's `pause_after_failures`, `pause_schedule` disables the schedule (out of
the due index), says why on the task, writes an audit event and puts a `SchedulePaused` event
on the service's bus.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent_tasks.errors import PreconditionFailedError
from agent_tasks.models.common import utc_now
from agent_tasks.models.executions import Execution
from agent_tasks.models.notifications import SCHEDULE_PAUSED
from agent_tasks.models.tasks import Task
from agent_tasks.observability import logger
from agent_tasks.schedules import should_pause
from agent_tasks.services.bus_events import put_task_event
from agent_tasks.store import audit as audit_store
from agent_tasks.store import schedules as schedule_store
from agent_tasks.store import tasks as task_store

SCHEDULER_ACTOR = "system:scheduler"
FAILED_STATUSES = frozenset({"failed", "timed_out"})
_MAX_ERROR_CHARS = 300
_ATTEMPTS = 3


def record_outcome(execution: Execution, *, now: datetime | None = None) -> Task | None:
    """Update the failure streak of a scheduled execution's task; pause it when the streak says so.

    Returns the paused task, or None when nothing was paused."""
    if execution.trigger_type != "scheduled":
        return None
    if execution.status == "completed":
        schedule_store.reset_failures(execution.task_id)
        return None
    if execution.status not in FAILED_STATUSES:
        return None
    task = schedule_store.count_failure(execution.task_id)
    if task is None or not should_pause(task.consecutive_failures, task.pause_after_failures):
        return None
    reason = (
        f"paused after {task.consecutive_failures} failed scheduled runs in a row "
        f"(pause_after_failures is {task.pause_after_failures}); the last, execution {execution.id}, "
        f"ended {execution.status}"
    )
    if execution.error_message:
        reason += f": {execution.error_message[:_MAX_ERROR_CHARS]}"
    return pause_schedule(task, reason=reason, now=now or utc_now(), last_execution_id=execution.id)


def pause_schedule(
    task: Task, *, reason: str, now: datetime, last_execution_id: str | None = None
) -> Task | None:
    """Disable the task's schedule with its reason (a new version, out of the due index), audited,
    then announce it. Retries on a concurrent edit; None if the schedule is already off."""
    current: Task | None = task
    for _ in range(_ATTEMPTS):
        if current is None or not current.is_due_indexed:
            return None
        paused = current.model_copy(
            update={
                "schedule_enabled": False,
                "schedule_paused_reason": reason,
                "next_run_at": None,
                "pending_slot": None,
                "version": current.version + 1,
                "updated_at": now,
            }
        )
        audit = audit_store.new_event(
            actor_id=SCHEDULER_ACTOR,
            owner_id=current.owner_id,
            action="task.schedule_paused",
            resource_type="task",
            resource_id=current.id,
            at=now,
            request_id=None,
            changed_fields=["schedule_enabled", "schedule_paused_reason"],
            details={
                "reason": reason,
                "consecutive_failures": current.consecutive_failures,
                "pause_after_failures": current.pause_after_failures,
                "last_execution_id": last_execution_id,
            },
        )
        try:
            task_store.replace(current, paused, audit)
        except PreconditionFailedError:
            current = task_store.get(task.id)  # edited meanwhile: decide again on what is stored
            if current is not None and not should_pause(
                current.consecutive_failures, current.pause_after_failures
            ):
                return None
            continue
        logger.info(
            "schedule paused",
            extra={"task_id": current.id, "consecutive_failures": current.consecutive_failures},
        )
        _announce_pause(paused, reason, last_execution_id)
        return paused
    logger.warning("schedule pause gave up after concurrent edits", extra={"task_id": task.id})
    return None


def _announce_pause(task: Task, reason: str, last_execution_id: str | None) -> None:
    detail: dict[str, Any] = {
        "task_id": task.id,
        "owner_id": task.owner_id,
        "task_name": task.name,
        "reason": reason,
        "consecutive_failures": task.consecutive_failures,
        "pause_after_failures": task.pause_after_failures,
        "last_execution_id": last_execution_id,
        "paused_at": task.updated_at.isoformat(),
    }
    put_task_event(SCHEDULE_PAUSED, detail)
