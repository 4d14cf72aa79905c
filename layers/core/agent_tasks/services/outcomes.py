"""Telling the world an execution ended: an EventBridge event and the task's webhook.

A notification that fails is recorded on the execution and never fails it.
"""

from __future__ import annotations

from typing import Any, cast

from agent_tasks import adapters
from agent_tasks.models.executions import Execution, NotificationRecord
from agent_tasks.notifications import NotificationEvent, NotifyOn
from agent_tasks.observability import logger, record_execution_ended
from agent_tasks.settings import get_settings
from agent_tasks.store import executions as execution_store
from agent_tasks.store import tasks as task_store


def event_for(execution: Execution) -> NotificationEvent:
    status = cast(NotifyOn, execution.status)
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
        structured_output=execution.result_data.structured_output if execution.result_data else None,
    )


def _publish(event: NotificationEvent) -> NotificationRecord:
    outcome = adapters.event_bus().publish(event.type, event.model_dump_json())
    return NotificationRecord(
        destination="eventbridge",
        status="delivered" if outcome.delivered else "failed",
        event_id=event.event_id,
        detail=outcome.detail,
    )


def _webhook(execution: Execution, event: NotificationEvent) -> NotificationRecord | None:
    task = task_store.get(execution.task_id)
    config = task.notification_config if task is not None else None
    if task is None or config is None or config.webhook_url is None or not config.wants(execution.status):
        return None
    if not task.webhook_secret:
        return NotificationRecord(
            destination="webhook",
            status="failed",
            event_id=event.event_id,
            detail="the task has no webhook secret",
        )
    from agent_tasks.notifications import deliver_webhook

    outcome = deliver_webhook(
        str(config.webhook_url),
        event,
        task.webhook_secret,
        allow_private=get_settings().allow_private_network,
    )
    return NotificationRecord(
        destination="webhook", status=outcome.status, event_id=event.event_id, webhook=outcome
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
    """Publish the end of a finished execution and deliver its webhook; record both on the execution."""
    if not execution.is_finished or execution.status == "pending":
        return execution
    record_execution_ended(execution)  # announce runs once per final status: so do these metrics
    _record_schedule_outcome(execution)
    event = event_for(execution)
    records = [_publish(event)]
    try:
        webhook = _webhook(execution, event)
    except Exception as error:  # noqa: BLE001 - a notification must never fail the execution
        logger.warning(
            "webhook delivery raised", extra={"execution_id": execution.id, "error": type(error).__name__}
        )
        webhook = NotificationRecord(
            destination="webhook", status="failed", event_id=event.event_id, detail=type(error).__name__
        )
    if webhook is not None:
        records.append(webhook)
    stored: list[dict[str, Any]] = [r.model_dump(mode="json") for r in [*execution.notifications, *records]]
    updated = execution_store.update(execution.id, {"notifications": stored})
    return updated or execution
