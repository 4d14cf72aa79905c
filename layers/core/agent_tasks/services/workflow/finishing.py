"""The end steps: Finalize (completed, with a note when the report failed) and MarkFailed."""

from __future__ import annotations

from typing import Any

from agent_tasks.observability import logger
from agent_tasks.services.ending import end_execution
from agent_tasks.services.workflow.errors import error_text
from agent_tasks.services.workflow.run_inputs import require, timeout_message


def finalize(execution_id: str, state: dict[str, Any] | None = None) -> dict[str, Any]:
    """Mark completed with its totals, remove the workspace, publish the event (the notifier delivers it)."""
    execution = require(execution_id)
    if execution.status != "running":
        return {"status": execution.status}
    changes: dict[str, Any] = {}
    report_error = (state or {}).get("report_error")
    if execution.task_snapshot.get("generate_report") and execution.report_id is None:
        changes["report_note"] = "no report was made" + (
            f": {error_text(report_error)}" if isinstance(report_error, dict) else ""
        )
    if end_execution(execution, "completed", changes=changes, from_statuses={"running"}) is None:
        return {"status": require(execution_id).status}
    logger.info("execution completed", extra={"execution_id": execution.id})
    return {"status": "completed"}


def mark_failed(execution_id: str, error: dict[str, Any] | None) -> dict[str, Any]:
    """Record why the workflow failed; never overwrites an execution that already ended."""
    execution = require(execution_id)
    if execution.is_finished:
        return {"status": execution.status}
    error = error or {}
    timed_out = error.get("Error") == "States.Timeout"
    ended = end_execution(
        execution,
        "timed_out" if timed_out else "failed",
        reason=timeout_message(execution) if timed_out else error_text(error),
    )
    if ended is None:
        return {"status": require(execution_id).status}
    return {"status": ended.status}
