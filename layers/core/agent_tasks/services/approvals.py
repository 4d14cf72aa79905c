"""Human approval of tool calls: request (RunAgent), wait (the workflow's task token), answer (the API).

The request is stored under its execution, the execution goes `waiting_for_approval` and an
`ApprovalRequested` event goes on the bus; the workflow's `.waitForTaskToken` state calls the
executor's `await_approval` step, which keeps the token on the request. An answer (or the wait's
timeout, or a cancel) settles the request once, with a conditional write: whoever settles it first
wins, and exactly one side hands the token back to Step Functions. RunAgent reads the settled
decisions from the store when the workflow comes back to it, so the token's output carries nothing
the loop needs.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from agent_tasks import adapters
from agent_tasks.errors import ConflictError, NotFoundError
from agent_tasks.models.approvals import (
    MAX_APPROVAL_INPUT_CHARS,
    MAX_APPROVAL_TEXT_CHARS,
    Approval,
    ApprovalConfig,
    ApprovalResponse,
    ApprovalStatus,
    DecisionRequest,
    approval_id_for,
)
from agent_tasks.models.common import API_BASE, STORED_CONTEXT, Page, utc_now
from agent_tasks.models.executions import Execution
from agent_tasks.models.notifications import APPROVAL_REQUESTED
from agent_tasks.models.transcript import PendingToolCall, ToolCallDecision
from agent_tasks.observability import logger
from agent_tasks.scrub import Scrubber
from agent_tasks.services.actor import Actor
from agent_tasks.services.bus_events import put_task_event
from agent_tasks.services.paging import CursorPosition, decode_cursor, encode_cursor, page_of
from agent_tasks.settings import get_settings
from agent_tasks.store import approvals as approval_store
from agent_tasks.store import audit as audit_store
from agent_tasks.store import executions as execution_store

WAITING = "waiting_for_approval"
# The error a cancel fails the waiting task with (the state machine ends the run on it, quietly).
CANCELLED_ERROR = "ApprovalCancelled"


def config_of(execution: Execution) -> ApprovalConfig | None:
    """The approval setting of the task definition the execution runs (its snapshot)."""
    raw = execution.task_snapshot.get("approval")
    if not raw:
        return None
    return ApprovalConfig.model_validate(raw, context=STORED_CONTEXT)


def decisions_for(approvals: list[Approval]) -> dict[str, ToolCallDecision]:
    """What the loop applies: each settled request's decision, by the tool call it holds back."""
    decided: dict[str, ToolCallDecision] = {}
    for approval in approvals:
        decision = approval.decision
        if decision is not None:
            decided[approval.tool_use_id] = ToolCallDecision(
                decision=decision,
                reason=approval.reason,
                timed_out=approval.status == "timed_out",
                approval_id=approval.id,
                decided_by=approval.decided_by,
            )
    return decided


def _capped_input(value: Any, scrubber: Scrubber) -> tuple[Any, bool]:
    scrubbed = scrubber.scrub_json(value) if scrubber else value
    text = json.dumps(scrubbed, ensure_ascii=False, default=str)
    if len(text) <= MAX_APPROVAL_INPUT_CHARS:
        return scrubbed, False
    return text[:MAX_APPROVAL_INPUT_CHARS], True


def decide_url(approval: Approval) -> str:
    """Where the owner POSTs the decision; absolute when the deployment names its base (API_BASE_URL)."""
    base = get_settings().api_base_url.rstrip("/")
    return f"{base}{API_BASE}/task-executions/{approval.execution_id}/approvals/{approval.id}"


def request(
    execution: Execution,
    call: PendingToolCall,
    config: ApprovalConfig,
    scrubber: Scrubber,
    *,
    earlier: list[Approval] | None = None,
) -> Approval:
    """Store the held-back call as a pending request (once per tool call), announce it, and mark the
    execution waiting. A retried RunAgent finds the request it already stored: its id is named by the
    execution and the call, read with one consistent GetItem, and stored with a conditional put.
    `earlier`: the execution's requests as the caller has just read them (RunAgent reads them for their
    decisions), so the look for an old random-id request reads nothing again."""
    approval_id = approval_id_for(execution.id, call.tool_use_id)
    approval = approval_store.get(execution.id, approval_id) or _stored_under_a_random_id(
        execution.id, call, earlier
    )
    if approval is None:
        approval = _new_request(approval_id, execution, call, config, scrubber)
        if approval_store.put(approval):
            _announce(approval)
        else:  # another invocation of the step stored it first (and announced it)
            stored = approval_store.get(execution.id, approval_id)
            assert stored is not None
            approval = stored
    execution_store.update(
        execution.id, {"status": WAITING, "pending_approval_id": approval.id}, status_in={"running"}
    )
    return approval


def _stored_under_a_random_id(
    execution_id: str, call: PendingToolCall, earlier: list[Approval] | None
) -> Approval | None:
    """Requests stored before ids were named by the call (uuid4 ids, executions in flight at that
    deploy) are found only among the execution's requests (no new one has a random id, so a list read
    earlier in the invocation holds every one). Remove once those have expired."""
    known = earlier if earlier is not None else approval_store.list_for_execution(execution_id)
    return next((a for a in known if a.tool_use_id == call.tool_use_id), None)


def _new_request(
    approval_id: str, execution: Execution, call: PendingToolCall, config: ApprovalConfig, scrubber: Scrubber
) -> Approval:
    now = utc_now()
    value, truncated = _capped_input(call.input, scrubber)
    text = scrubber.scrub(call.text) if call.text and scrubber else call.text
    return Approval(
        id=approval_id,
        execution_id=execution.id,
        task_id=execution.task_id,
        owner_id=execution.owner_id,
        tool_use_id=call.tool_use_id,
        tool=call.tool,
        input=value,
        input_truncated=truncated,
        text=text[:MAX_APPROVAL_TEXT_CHARS] if text else None,
        status="pending",
        requested_at=now,
        expires_at=now + timedelta(seconds=config.timeout_seconds),
        timeout_seconds=config.timeout_seconds,
        on_timeout=config.on_timeout,
        expires_at_epoch=execution.expires_at,
    )


def _announce(approval: Approval) -> None:
    url = decide_url(approval)
    put_task_event(
        APPROVAL_REQUESTED,
        {
            "task_id": approval.task_id,
            "owner_id": approval.owner_id,
            "execution_id": approval.execution_id,
            "approval_id": approval.id,
            "tool": approval.tool,
            "input": approval.input,
            "text": approval.text,
            "expires_at": approval.expires_at.isoformat(),
            "approve_url": url,
            "deny_url": url,
        },
    )


def _hand_back(approval: Approval) -> None:
    """Give the settled request's token back to the workflow: go on (decided) or fail (cancelled)."""
    if approval.task_token is None:
        return  # the await step has not kept it yet: it finds the request settled and hands back itself
    if approval.status == "cancelled":
        adapters.workflows().release(
            approval.task_token, error=CANCELLED_ERROR, cause="The execution was cancelled while waiting."
        )
    else:
        adapters.workflows().resume(
            approval.task_token, {"approval_id": approval.id, "status": approval.status}
        )


def await_approval(execution_id: str, approval_id: str, task_token: str) -> dict[str, Any]:
    """The workflow waits: keep its token on the request. A request already settled (answered before
    the wait began) hands the token straight back."""
    if approval_store.record_token(execution_id, approval_id, task_token):
        return {"waiting": approval_id}
    approval = approval_store.get(execution_id, approval_id)
    if approval is None:
        adapters.workflows().release(task_token, error="ApprovalMissing", cause="No such approval request.")
        return {"waiting": None}
    _hand_back(approval.model_copy(update={"task_token": task_token}))
    return {"settled": approval.status}


def time_out(execution_id: str, approval_id: str | None) -> dict[str, Any]:
    """The wait timed out: the request becomes timed_out (its on_timeout applies) unless an answer won."""
    if approval_id:
        settled = approval_store.settle(
            execution_id, approval_id, status="timed_out", decided_at=utc_now(), decided_by="timeout"
        )
        if settled is not None:
            logger.info(
                "approval timed out",
                extra={
                    "execution_id": execution_id,
                    "approval_id": approval_id,
                    "applied": settled.on_timeout,
                },
            )
    return {"next": "continue"}


def resume_running(execution: Execution, waited_on: Approval | None) -> Execution | None:
    """Back from a wait on `waited_on` (settled): the execution runs again (its deadline moved by the
    time it waited); None when it was cancelled meanwhile."""
    changes: dict[str, Any] = {"status": "running", "pending_approval_id": None}
    if execution.deadline_at is not None and waited_on is not None:
        waited = (waited_on.decided_at or utc_now()) - waited_on.requested_at
        changes["deadline_at"] = (execution.deadline_at + max(waited, timedelta(0))).isoformat()
    return execution_store.update(execution.id, changes, status_in={WAITING})


def list_approvals_of(execution_id: str) -> list[Approval]:
    """Every request of the execution (paged through the store), oldest first."""
    return approval_store.list_for_execution(execution_id)


def waited_on(execution: Execution) -> Approval | None:
    """The request the execution waits (or waited) on, as stored now."""
    if not execution.pending_approval_id:
        return None
    return approval_store.get(execution.id, execution.pending_approval_id)


def release_pending(execution: Execution, *, release_wait: bool = True) -> None:
    """An ended execution's unanswered request is settled `cancelled` and (unless its workflow is over
    already) its wait released with SendTaskFailure, so the workflow ends now, not at the timeout."""
    if not execution.pending_approval_id:
        return
    settled = approval_store.settle(
        execution.id,
        execution.pending_approval_id,
        status="cancelled",
        decided_at=utc_now(),
        decided_by="system",
        reason=f"the execution ended ({execution.status}) while the request waited",
    )
    if settled is not None and release_wait:
        _hand_back(settled)


# -- the API's side ------------------------------------------------------------------------------------
# (execution_queries is imported where used: the executor imports this module and needs none of it)


def list_approvals(
    actor: Actor, execution_id: str, *, page_size: int = 20, cursor: str | None = None
) -> Page[ApprovalResponse]:
    """A page of the execution's requests, oldest first. Their keys are in id order, not time order, so
    every request is read (paged through the store) and the cursor holds the position in that order:
    requests are only added after the last, so a position stays valid."""
    from agent_tasks.services.execution_queries import own_execution

    own_execution(actor, execution_id)
    scope = {"execution_id": execution_id, "page_size": page_size}
    position = decode_cursor(cursor, scope) if cursor else CursorPosition()
    every = approval_store.list_for_execution(execution_id)
    start = position.after or 0
    end = start + page_size
    next_cursor = (
        encode_cursor({"page": position.page + 1, "after": end}, scope) if end < len(every) else None
    )
    base = f"{API_BASE}/task-executions/{execution_id}"
    page = page_of(
        ApprovalResponse,
        [ApprovalResponse.of(a) for a in every[start:end]],
        path=f"{base}/approvals",
        query={},
        page=position.page,
        page_size=page_size,
        total=len(every),
        next_cursor=next_cursor,
    )
    page.links["execution"] = base
    return page


def decide(actor: Actor, execution_id: str, approval_id: str, body: DecisionRequest) -> ApprovalResponse:
    """The owner's answer, once: a second answer, or one after the timeout, is a 409."""
    from agent_tasks.services.execution_queries import own_execution

    execution = own_execution(actor, execution_id)
    approval = approval_store.get(execution_id, approval_id)
    if approval is None:
        raise NotFoundError("no such approval request")
    if execution.is_finished and approval.status == "pending":
        raise ConflictError(f"the execution already ended ({execution.status})")
    if approval.status != "pending":
        raise ConflictError(f"the approval request was already settled ({approval.status})")
    now = utc_now()
    if now >= approval.expires_at:
        raise ConflictError("the approval request timed out; its on_timeout applies")
    status: ApprovalStatus = "approved" if body.decision == "approve" else "denied"
    audit = audit_store.new_event(
        actor_id=actor.user_id,
        owner_id=execution.owner_id,
        action=f"execution.approval_{status}",
        resource_type="execution",
        resource_id=execution_id,
        at=now,
        request_id=actor.request_id,
        details={"approval_id": approval_id, "tool": approval.tool, "reason": body.reason},
    )
    won = approval_store.answer(
        execution_id,
        approval_id,
        status=status,
        decided_at=now,
        decided_by=actor.user_id,
        reason=body.reason,
        audit=audit,
    )
    if not won:
        current = approval_store.get(execution_id, approval_id)
        settled = current.status if current else "gone"
        raise ConflictError(f"the approval request was already settled ({settled})")
    stored = approval_store.get(execution_id, approval_id)
    assert stored is not None
    _hand_back(stored)
    return ApprovalResponse.of(stored)
