"""Telling the world an execution ended: one event on the service's bus, and the metrics.

The event is all the paths that end an execution do (the API's cancel, the scheduler, the
workflow, the reconciler): the notifier function, a subscriber of the bus, delivers it to the
task's webhook, Slack or SNS topic (services/notifier.py). No HTTP request is made here.
A publish that fails is recorded on the execution and never fails it.
"""

from __future__ import annotations

from typing import Any, cast

from agent_tasks import adapters
from agent_tasks.models.executions import Execution, NotificationRecord
from agent_tasks.models.notifications import ExecutionEndOn
from agent_tasks.notify.events import NotificationEvent
from agent_tasks.observability import logger, record_execution_ended
from agent_tasks.store import executions as execution_store

# The start of the answer an event carries (a Slack message shows it; the full answer is in the API).
ANSWER_EXCERPT_CHARS = 1000


def event_for(execution: Execution) -> NotificationEvent:
    status = cast(ExecutionEndOn, execution.status)
    result = execution.result_data
    return NotificationEvent.for_execution(
        execution_id=execution.id,
        task_id=execution.task_id,
        owner_id=execution.owner_id,
        status=status,
        occurred_at=execution.completed_at or execution.created_at,
        task_name=execution.task_name,
        trigger_type=execution.trigger_type,
        message_count=execution.total_messages,
        tool_call_count=execution.total_tool_calls,
        duration_seconds=execution.duration_seconds,
        cost_usd=execution.cost_usd,
        error_message=execution.error_message,
        report_id=execution.report_id,
        structured_output=result.structured_output if result else None,
        answer_excerpt=(result.final_text[:ANSWER_EXCERPT_CHARS] or None)
        if result and result.final_text
        else None,
    )


def _publish(event: NotificationEvent) -> NotificationRecord:
    outcome = adapters.event_bus().publish(event.type, event.model_dump_json())
    return NotificationRecord(
        destination="eventbridge",
        status="delivered" if outcome.delivered else "failed",
        event_id=event.event_id,
        detail=outcome.detail,
    )


def _record_schedule_outcome(execution: Execution) -> None:
    """A scheduled run's end feeds its task's failure streak (and may pause the schedule)."""
    if execution.trigger_type != "scheduled":
        return
    from agent_tasks.services.schedule_pause import record_outcome

    try:
        record_outcome(execution)
    except Exception as error:  # noqa: BLE001 - schedule bookkeeping must never fail the execution
        logger.warning(
            "recording the scheduled outcome failed",
            extra={"execution_id": execution.id, "error": type(error).__name__},
        )


def announce(execution: Execution) -> Execution:
    """Publish the end of a finished execution on the bus (the notifier delivers it); record the publish."""
    if not execution.is_finished or execution.status == "pending":
        return execution
    record_execution_ended(execution)  # announce runs once per final status: so do these metrics
    _record_schedule_outcome(execution)
    event = event_for(execution)
    records = [_publish(event)]
    stored: list[dict[str, Any]] = [r.model_dump(mode="json") for r in [*execution.notifications, *records]]
    updated = execution_store.update(execution.id, {"notifications": stored})
    return updated or execution
