"""The one way an execution ends, whoever ends it: Finalize, MarkFailed, a time-out in RunAgent, a
cancel, the reconciler, a workflow that could not start.

`end_execution` changes the status only from the statuses the caller expects (a conditional write,
so of two endings racing exactly one wins), records when and how long, leaves a coherent record
(only a completed execution keeps its agent's result and its report link: a cancel that lands
just after the agent finished never reads as a completed run), settles an approval request still
waiting (and releases its workflow wait), releases the turn a run queued at its slot waits for
(its task token), removes the workspace, frees its run slots (starting the queued executions that
now fit) and announces the end (one event on the bus, which the notifier delivers; metrics).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from agent_tasks.models.common import utc_now
from agent_tasks.models.executions import ACTIVE_STATUSES, Execution, ExecutionStatus
from agent_tasks.observability import logger
from agent_tasks.services.concurrency import promote, release_items
from agent_tasks.services.outcomes import announce
from agent_tasks.store import executions as execution_store
from agent_tasks.store import workspaces
from agent_tasks.store.dynamo import TransactionConflict

_ATTEMPTS = 5


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
    allowed = frozenset(from_statuses)
    current: Execution | None = execution
    ended: Execution | None = None
    for _attempt in range(_ATTEMPTS):  # statuses only move forward: a few reads at most
        if current is None or current.status not in allowed:
            return None
        # Conditional on the status read, so the slots released (and the queue entry removed) in the same
        # transaction are the ones this status holds; a status that moved on meanwhile is read again.
        try:
            ended = execution_store.update(
                current.id,
                {**update, "run_slots": None},
                status_in={current.status},
                also=release_items(current),
            )
        except TransactionConflict:
            ended = None  # a transient conflict: read again and retry
        if ended is not None:
            break
        current = execution_store.get(execution.id)
    if ended is None or current is None:
        return None
    if ended.pending_approval_id:
        # A request still waiting is settled `cancelled` and its workflow wait released (SendTaskFailure).
        from agent_tasks.services.approvals import release_pending

        release_pending(ended, release_wait=not workflow_ended)
    if ended.turn_token is not None and not workflow_ended:
        # Queued at its slot, its workflow waiting on a task token: released now (it goes to Done).
        from agent_tasks.services.slot_time import hand_back_turn

        hand_back_turn(ended, left_status=current.status)
    if current.status != "queued":  # a run that never left the queue has no workspace
        drop_workspace(ended)
    if current.run_slots:
        _promote_after(ended)
    return announce(ended)


def _promote_after(ended: Execution) -> None:
    """A slot was freed: start the owner's queued executions that now fit. A failure here is logged; the
    scheduler's sweep gives the owner another pass within a minute."""
    try:
        promote(ended.owner_id)
    except Exception:  # noqa: BLE001 - ending the execution must not fail for its successors
        logger.exception("promoting queued executions failed", extra={"owner_id": ended.owner_id})
