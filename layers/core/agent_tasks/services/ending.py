"""The one way an execution ends, whoever ends it: Finalize, MarkFailed, a time-out in RunAgent, a
cancel, the reconciler, a workflow that could not start.

`end_execution` changes the status only from the statuses the caller expects (a conditional write,
so of two endings racing exactly one wins), records when and how long, leaves a coherent record
(only a completed execution keeps its agent's result and its report link: a cancel that lands
just after the agent finished never reads as a completed run), settles an approval request still
waiting (and releases its workflow wait), removes the workspace and announces the end (EventBridge,
webhook, metrics).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from agent_tasks.models.common import utc_now
from agent_tasks.models.executions import ACTIVE_STATUSES, Execution, ExecutionStatus
from agent_tasks.services.outcomes import announce
from agent_tasks.store import executions as execution_store
from agent_tasks.store import workspaces


def duration_seconds(execution: Execution, end: datetime) -> float | None:
    """Seconds from the start of the run to `end` (None when it never started)."""
    if execution.started_at is None:
        return None
    return round(max(0.0, (end - execution.started_at).total_seconds()), 3)


def drop_workspace(execution: Execution) -> None:
    """Remove the execution's saved working directory (a failure is logged, never raised)."""
    workspaces.delete(execution.owner_id, execution.id)


def end_execution(
    execution: Execution,
    status: ExecutionStatus,
    *,
    reason: str | None = None,
    changes: dict[str, Any] | None = None,
    from_statuses: Iterable[str] = ACTIVE_STATUSES,
    workflow_ended: bool = False,
) -> Execution | None:
    """End `execution` with `status` if it is still in one of `from_statuses`; the ended execution, as
    announced, or None when it had already ended (or moved on) and nothing was changed. With
    `workflow_ended` (the reconciler) a waiting approval request is settled without releasing its wait."""
    now = utc_now()
    update: dict[str, Any] = {
        "status": status,
        "completed_at": now.isoformat(),
        "duration_seconds": duration_seconds(execution, now),
        **(changes or {}),
    }
    if reason is not None:
        update["error_message"] = reason
    if status != "completed":
        # The agent may have finished (and its report been made) just before this ending won.
        update["result_data"] = None
        update["report_id"] = None
    ended = execution_store.update(execution.id, update, status_in=from_statuses)
    if ended is None:
        return None
    if ended.pending_approval_id:
        # A request still waiting is settled `cancelled` and its workflow wait released (SendTaskFailure).
        from agent_tasks.services.approvals import release_pending

        release_pending(ended, release_wait=not workflow_ended)
    drop_workspace(ended)
    return announce(ended)
