"""The RunAgent step: run the agent loop for as long as one invocation may, storing every message."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from agent_tasks import scrub
from agent_tasks.agent import isolation
from agent_tasks.errors import NotFoundError
from agent_tasks.models.approvals import Approval, ApprovalConfig
from agent_tasks.models.common import utc_now
from agent_tasks.models.executions import Execution, ResultData, Session
from agent_tasks.models.transcript import AgentResult, AgentRunState, TranscriptMessage
from agent_tasks.scrub import NO_SECRETS, Scrubber
from agent_tasks.services import approvals, spend
from agent_tasks.services.ending import drop_workspace, end_execution
from agent_tasks.services.workflow.errors import MAX_ERROR_MESSAGE_CHARS, AgentRunFailed, TransientModelError
from agent_tasks.services.workflow.run_inputs import (
    require,
    secrets_and_options,
    select_provider,
    timeout_message,
)
from agent_tasks.settings import get_settings
from agent_tasks.store import executions as execution_store
from agent_tasks.store import sessions as session_store
from agent_tasks.store import workspaces

# Kept free at the end of a Lambda invocation for saving the workspace and the run state.
INVOCATION_MARGIN_SECONDS = 30.0


class _WatchedProvider:
    """Passes calls through and remembers the last model error, so a transient one can be retried."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.last_error: Any = None

    @property
    def name(self) -> Any:
        return self.inner.name

    def create_message(self, request: Any) -> Any:
        from agent_tasks.agent.model_api import ModelCallError

        try:
            return self.inner.create_message(request)
        except ModelCallError as error:
            self.last_error = error
            raise

    @property
    def failed_transiently(self) -> bool:
        from agent_tasks.agent.providers import RETRYABLE_STATUSES

        error = self.last_error
        if error is None:
            return False
        status = getattr(error, "status", None)
        return status in RETRYABLE_STATUSES or (status is None and bool(getattr(error, "timed_out", False)))


@dataclass
class _Budget:
    """When this invocation must hand back: the smaller of its time budget and the execution's deadline."""

    ends_at: float  # time.monotonic() value
    max_model_calls: int | None
    model_calls: int = 0

    def remaining(self) -> float:
        if self.max_model_calls is not None and self.model_calls >= self.max_model_calls:
            return 0.0
        return self.ends_at - time.monotonic()


def _limits_for(seconds: float) -> Any:
    from agent_tasks.agent.loop import LoopLimits

    default = LoopLimits()
    return LoopLimits(
        safety_margin_seconds=min(default.safety_margin_seconds, 0.1 * seconds),
        min_model_call_seconds=min(default.min_model_call_seconds, 0.25 * seconds),
        min_tool_seconds=min(default.min_tool_seconds, 0.05 * seconds),
    )


def _invocation_seconds(remaining_millis: int | None) -> float:
    configured = get_settings().run_agent_budget_seconds
    if configured is not None:
        return configured
    if remaining_millis is None:
        return 600.0
    return max(0.0, remaining_millis / 1000 - INVOCATION_MARGIN_SECONDS)


def _last_assistant_text(transcript: list[TranscriptMessage]) -> str | None:
    for message in reversed(transcript):
        if message.role == "assistant":
            return "".join(b.get("text", "") for b in message.content if b.get("type") == "text")
    return None


def _time_out(execution: Execution, reason: str) -> dict[str, Any]:
    end_execution(execution, "timed_out", reason=reason)
    return {"next": "stop"}


def run_agent(
    execution_id: str,
    *,
    remaining_millis: int | None = None,
    provider: Any = None,
) -> dict[str, Any]:
    """Run the loop for as long as this invocation may, storing every message; say what comes next."""
    from agent_tasks.agent.loop import run_agent as run_loop

    execution = require(execution_id)
    if execution.status == approvals.WAITING:
        waited_on = approvals.waited_on(execution)  # read once: pending, or settled and resumed from
        if waited_on is not None and waited_on.status == "pending":
            return _wait_for(waited_on)  # a retried RunAgent: the request is stored, the wait not yet begun
        resumed = approvals.resume_running(execution, waited_on)  # back from a wait: its request is settled
        execution = resumed if resumed is not None else require(execution_id)
    if execution.status != "running" or execution.session_id is None:
        if execution.is_finished:
            drop_workspace(execution)  # e.g. cancelled between invocations
        return {"next": "stop"}
    now = utc_now()
    if execution.deadline_at is not None and now >= execution.deadline_at:
        return _time_out(execution, timeout_message(execution))
    session = session_store.get(execution.session_id)
    if session is None:
        raise NotFoundError(f"session {execution.session_id} is not stored")
    secret_values, options = secrets_and_options(execution)
    scrubber = Scrubber(secret_values)
    snapshot = execution.task_snapshot
    tool_secrets = {name: secret_values[name] for name in snapshot.get("secrets") or []}
    transcript = session_store.all_messages(session.id)
    approval = approvals.config_of(execution)
    requested = approvals.list_approvals_of(execution.id) if approval else []
    decisions = approvals.decisions_for(requested)
    seconds = _invocation_seconds(remaining_millis)
    limits = None
    if execution.deadline_at is not None:
        until_deadline = (execution.deadline_at - now).total_seconds()
        if until_deadline < seconds:
            # The task's own deadline binds, and a later invocation would have even less time:
            # keep only reserves in proportion, so a short timeout still gets its model calls.
            seconds = until_deadline
            limits = _limits_for(seconds)
    budget = _Budget(time.monotonic() + seconds, get_settings().run_agent_max_model_calls)
    stored: list[TranscriptMessage] = list(transcript)

    def on_message(message: TranscriptMessage) -> None:
        # The call's cost joins the owner's spend in the same write as its message (once, atomically).
        session_store.put_message(
            session, message, also=spend.rollup(execution.owner_id, execution.task_id, message)
        )
        stored.append(message)
        if message.role == "assistant":
            budget.model_calls += 1

    def should_cancel() -> bool:
        return execution_store.status_of(execution.id) != "running"

    watched = _WatchedProvider(provider or select_provider())
    with (
        scrub.active(scrubber),
        _scrubbed_failures(scrubber),
        isolation.invocation_scope() as scratch,
    ):
        root = scratch / "work"
        root.mkdir()
        workspaces.restore(execution.owner_id, execution.id, root)
        workdir = root / str(snapshot.get("working_directory_path") or "")
        workdir.mkdir(parents=True, exist_ok=True)
        result = run_loop(
            prompt=execution.rendered_prompt or "",
            options=options,
            allowed_tools=list(snapshot.get("allowed_tools") or []),
            disallowed_tools=list(snapshot.get("disallowed_tools") or []),
            transcript=transcript,
            state=execution.agent_state or AgentRunState(),
            workdir=workdir,
            on_message=on_message,
            deadline=budget.remaining,
            should_cancel=should_cancel,
            provider=watched,
            limits=limits,
            output_schema=snapshot.get("output_schema"),
            secrets=tool_secrets,
            scrubber=scrubber,
            spend_cap_reached=lambda: spend.check(execution.owner_id, task_id=execution.task_id) is not None,
            approval_tools=approval.canonical_tools() if approval else frozenset(),
            decisions=decisions,
        )
        if result.outcome in ("continue", "waiting"):
            workspaces.save(execution.owner_id, execution.id, root)
        result = _scrubbed_result(result, scrubber)
        return _after_run(
            execution,
            session,
            result,
            stored,
            transient=watched.failed_transiently,
            approval=approval,
            requested=requested,
            scrubber=scrubber,
        )


def _wait_for(request: Approval) -> dict[str, Any]:
    """What the state machine's WaitForApproval state reads: the request and how long it may wait."""
    seconds = int((request.expires_at - utc_now()).total_seconds())
    return {"next": "wait_for_approval", "approval_id": request.id, "timeout_seconds": max(1, seconds)}


def _scrubbed_result(result: AgentResult, scrubber: Scrubber) -> AgentResult:
    """The run's own texts scrubbed too, and the count of every scrubbed occurrence carried on."""
    final_text = scrubber.scrub(result.final_text) if result.final_text is not None else None
    error = scrubber.scrub(result.error) if result.error is not None else None
    structured = scrubber.scrub_json(result.structured_output) if scrubber else result.structured_output
    state = result.state.model_copy(
        update={"secrets_scrubbed": result.state.secrets_scrubbed + scrubber.count}
    )
    return result.model_copy(
        update={"final_text": final_text, "error": error, "structured_output": structured, "state": state}
    )


@contextlib.contextmanager
def _scrubbed_failures(scrubber: Scrubber) -> Iterator[None]:
    """An exception whose text holds a secret value leaves as AgentRunFailed with that text scrubbed,
    so the value reaches neither the Lambda error, Step Functions, the error_message nor a trace."""
    try:
        yield
    except Exception as error:
        text = str(error)
        if scrubber and scrubber.scrub_quietly(text) != text:
            raise AgentRunFailed(scrubber.scrub_quietly(text)[:MAX_ERROR_MESSAGE_CHARS]) from None
        raise


def _after_run(
    execution: Execution,
    session: Session,
    result: AgentResult,
    transcript: list[TranscriptMessage],
    *,
    transient: bool = False,
    approval: ApprovalConfig | None = None,
    requested: list[Approval] | None = None,
    scrubber: Scrubber | None = None,
) -> dict[str, Any]:
    state = result.state
    changes: dict[str, Any] = {
        "agent_state": state.model_dump(mode="json"),
        "total_messages": len(transcript),
        "total_tool_calls": state.tool_calls,
        "permission_denials": [d.model_dump(mode="json") for d in state.permission_denials],
        "usage": state.usage.model_dump(mode="json"),
        "cost_usd": state.cost_usd,
        "cost_note": result.cost_note,
        "provider": result.provider,
        "model_usage": {m: u.model_dump(mode="json") for m, u in state.model_usage.items()},
        "price_table_version": state.price_table_version,
    }
    finished = result.outcome not in ("continue", "cancelled", "error", "waiting")
    if finished:
        final_text = result.final_text if result.final_text is not None else _last_assistant_text(transcript)
        changes["result_data"] = ResultData(
            final_text=final_text,
            outcome=result.outcome,
            structured_output=result.structured_output,
            secrets_scrubbed=state.secrets_scrubbed,
        ).model_dump(mode="json")
    stored = execution_store.update(execution.id, changes, status_in={"running"})
    session_store.set_message_count(session.id, len(transcript), utc_now().isoformat())
    if stored is None or result.outcome == "cancelled":
        # Cancelled meanwhile: the cancel already recorded everything; only the workspace is left.
        drop_workspace(execution)
        return {"next": "stop"}
    if result.outcome == "error":
        if transient:  # the state machine retries RunAgent later; the transcript lets it resume
            raise TransientModelError(result.error or "the model is unavailable")
        raise AgentRunFailed(result.error or "the agent run failed")
    if result.outcome == "waiting" and result.approval_request is not None and approval is not None:
        request = approvals.request(
            stored, result.approval_request, approval, scrubber or NO_SECRETS, earlier=requested
        )
        return _wait_for(request)
    if result.outcome == "continue":
        if result.new_messages == 0:
            # No progress: time is too short for even one model call.
            if stored.deadline_at is not None and (stored.deadline_at - utc_now()).total_seconds() < 60:
                return _time_out(stored, timeout_message(stored))
            raise AgentRunFailed("one RunAgent invocation has too little time to call the model")
        return {"next": "continue", "messages": len(transcript)}
    if execution.task_snapshot.get("generate_report"):
        return {"next": "report"}
    return {"next": "finalize"}
