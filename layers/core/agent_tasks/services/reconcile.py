"""Reconciliation: a workflow that ended abnormally (aborted, timed out, failed) ends its execution too.

Fed by the EventBridge rule on "Step Functions Execution Status Change"; the Step Functions
execution's name is the execution id. Covers what MarkFailed cannot: a Lambda that died
mid-step, a workflow stopped from outside, the state machine's own timeout.
"""

from __future__ import annotations

from typing import Any

from agent_tasks.models.executions import ExecutionStatus
from agent_tasks.observability import bind_execution, logger
from agent_tasks.services.ending import end_execution
from agent_tasks.store import executions as execution_store

STATUS_BY_WORKFLOW_STATUS: dict[str, ExecutionStatus] = {
    "ABORTED": "cancelled",
    "TIMED_OUT": "timed_out",
    "FAILED": "failed",
}
_REASONS = {
    "ABORTED": "the workflow was stopped before the execution finished",
    "TIMED_OUT": "the workflow timed out before the execution finished",
    "FAILED": "the workflow failed before the execution finished",
}
MAX_REASON_CHARS = 1000


def _execution_id(detail: dict[str, Any]) -> str | None:
    name = detail.get("name")
    if isinstance(name, str) and name:
        return name
    arn = detail.get("executionArn")
    return arn.rsplit(":", 1)[-1] if isinstance(arn, str) and arn else None


def _reason(workflow_status: str, detail: dict[str, Any]) -> str:
    reason = _REASONS[workflow_status]
    error = detail.get("error")
    if isinstance(error, str) and error:
        reason += f" ({error})"
    return reason[:MAX_REASON_CHARS]


def reconcile(detail: dict[str, Any]) -> dict[str, Any]:
    """Mark the execution of a workflow that ended abnormally, if it is still pending or running."""
    workflow_status = str(detail.get("status", ""))
    target = STATUS_BY_WORKFLOW_STATUS.get(workflow_status)
    execution_id = _execution_id(detail)
    if target is None or execution_id is None:
        return {"result": "ignored"}
    execution = execution_store.get(execution_id)
    if execution is None:
        logger.warning("workflow of an unknown execution", extra={"execution_id": execution_id})
        return {"result": "unknown_execution", "execution_id": execution_id}
    bind_execution(execution)
    if execution.is_finished:
        return {"result": "already_ended", "execution_id": execution_id, "status": execution.status}
    updated = end_execution(execution, target, reason=_reason(workflow_status, detail), workflow_ended=True)
    if updated is None:
        current = execution_store.get(execution_id)
        return {"result": "already_ended", "execution_id": execution_id, "status": current and current.status}
    logger.info("execution reconciled", extra={"execution_id": execution_id, "status": target})
    return {"result": "marked", "execution_id": execution_id, "status": target}
