"""The executor's steps of an execution's workflow: prepare, run_agent, finalize, mark_failed.

Each step reads the execution, does its part and changes the status only from the status it
expects, so a retried step, a cancel in between or a reconciler racing it never loses or doubles
a transition. A cancelled execution is never overwritten.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from agent_tasks import scrub
from agent_tasks.agent import isolation
from agent_tasks.errors import ConflictError, NotFoundError
from agent_tasks.models.common import utc_now
from agent_tasks.models.executions import Execution, ResultData, Session
from agent_tasks.models.sdk_options import SdkOptions
from agent_tasks.models.secrets import SECRET_REFERENCE, referenced_names
from agent_tasks.models.transcript import AgentResult, AgentRunState, TranscriptMessage
from agent_tasks.observability import bind_execution, logger
from agent_tasks.scrub import Scrubber
from agent_tasks.services import spend
from agent_tasks.services.ending import drop_workspace, end_execution
from agent_tasks.settings import get_settings
from agent_tasks.store import executions as execution_store
from agent_tasks.store import sessions as session_store
from agent_tasks.store import tasks as task_store
from agent_tasks.store import workspaces

Next = Literal["run", "continue", "report", "finalize", "stop"]
# Kept free at the end of a Lambda invocation for saving the workspace and the run state.
INVOCATION_MARGIN_SECONDS = 30.0
MAX_ERROR_MESSAGE_CHARS = 2000


class AgentRunFailed(Exception):
    """The agent run ended in an error; its message is the execution's error_message."""


class TransientModelError(Exception):
    """The model was unavailable (429, 5xx, 529, unreachable) even after the SDK's retries; the state
    machine retries RunAgent later, and the transcript makes the retry resume where this one stopped."""


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


class ExecutionMissing(Exception):
    """The workflow names an execution that is not stored."""


SESSION_NAMESPACE = uuid.UUID("5f0c6a3e-7d1b-4c1e-9a51-6d2a3b8f0e11")


def _require(execution_id: str) -> Execution:
    execution = execution_store.get(execution_id)
    if execution is None:
        raise ExecutionMissing(f"execution {execution_id} is not stored")
    bind_execution(execution)  # every later line of this step names the execution, task and owner
    return execution


def _live_mcp_tokens(execution: Execution) -> dict[str, str]:
    """MCP tokens are not kept in snapshots: they come from the live task."""
    if not (execution.task_snapshot.get("sdk_options") or {}).get("mcp_servers"):
        return {}
    task = task_store.get(execution.task_id)
    return {
        s.name: s.authorization_token.get_secret_value()
        for s in (task.sdk_options.mcp_servers if task else [])
        if s.authorization_token is not None
    }


def _options(execution: Execution, secrets: Mapping[str, str] | None = None) -> SdkOptions:
    """The snapshot's options, with MCP tokens from the live task (`{{ secret.NAME }}` replaced)."""
    raw = dict(execution.task_snapshot.get("sdk_options") or {})
    servers = raw.get("mcp_servers") or []
    if servers:
        tokens = _live_mcp_tokens(execution)
        values = secrets or {}
        raw["mcp_servers"] = [
            {**s, "authorization_token": _with_secrets(tokens.get(s["name"]), values)} for s in servers
        ]
    return SdkOptions.model_validate(raw)


def _with_secrets(token: str | None, values: Mapping[str, str]) -> str | None:
    if token is None:
        return None
    return SECRET_REFERENCE.sub(lambda m: values.get(m.group(1), m.group(0)), token)


def _open_secrets(execution: Execution) -> dict[str, str]:
    """The values of every secret the run needs: its task's `secrets` and any an MCP token names.
    A secret that is gone or cannot be opened fails the run, naming it and saying why."""
    from agent_tasks.services import secrets

    names = list(execution.task_snapshot.get("secrets") or [])
    for token in _live_mcp_tokens(execution).values():
        names.extend(referenced_names(token))
    if not names:
        return {}
    try:
        return secrets.load_for_run(
            execution.owner_id, names, task_id=execution.task_id, execution_id=execution.id
        )
    except secrets.SecretUnavailable as error:
        logger.warning("secret unavailable", extra={"secret": error.name, "reason": error.reason})
        raise AgentRunFailed(error.message) from None


def _provider_name() -> str:
    from agent_tasks.agent.providers import select_provider

    return select_provider(get_settings()).name


def _catalogue() -> Any:
    """The model catalogue: refreshed from the Models API when a provider with credentials can list it
    (cached in the table for MODEL_CATALOG_TTL_SECONDS), else the cached copy or the shipped snapshot."""
    from agent_tasks.agent import model_catalog
    from agent_tasks.agent.model_api import ModelCallError

    provider = _select_provider()
    list_models = getattr(provider, "list_models", None)
    if list_models is None:
        return model_catalog.current()
    try:
        return model_catalog.refresh(list_models, ttl_seconds=get_settings().model_catalog_ttl_seconds)
    except ModelCallError as error:
        logger.warning("model catalogue not refreshed", extra={"error": error.message})
        return model_catalog.current()


def _check_model_runnable(options: SdkOptions) -> None:
    """Fail at Prepare, before any session exists: a retired model, or a budget the price table
    cannot enforce (the table changed since the task was saved)."""
    from agent_tasks.agent import model_catalog
    from agent_tasks.agent.pricing import price_table

    catalogue = _catalogue()
    entry = catalogue.get(options.model)
    if entry is not None and entry.lifecycle == "retired":
        raise AgentRunFailed(model_catalog.retirement_text(entry, catalogue))
    table = price_table()
    if (
        options.max_budget_usd is not None
        and _provider_name() != "scripted"
        and table.entry(options.model) is None
    ):
        raise AgentRunFailed(
            f"max_budget_usd is set but model {options.model!r} has no price in price table "
            f"{table.version}, so the budget could not be enforced; nothing was run"
        )


# -- prepare ------------------------------------------------------------------------------------------


def prepare(execution_id: str) -> dict[str, Any]:
    """Mark running (only from pending), create the session, render and store the prompt."""
    from agent_tasks.templates import render

    execution = _require(execution_id)
    if execution.status == "running" and execution.session_id:
        return {"next": "run"}  # a retried Prepare that already did its work
    if execution.status != "pending":
        return {"next": "stop"}
    # Each secret is checked here, so a missing or unreadable one ends the run before it starts.
    options = _options(execution, _open_secrets(execution))
    _check_model_runnable(options)
    now = utc_now()
    rendered = render(str(execution.task_snapshot["prompt_template"]), execution.prompt_variables)
    provider = _provider_name()
    session = Session(
        # Derived from the execution: a Prepare retried after a crash finds its session, never makes two.
        id=str(uuid.uuid5(SESSION_NAMESPACE, execution.id)),
        owner_id=execution.owner_id,
        execution_id=execution.id,
        task_id=execution.task_id,
        name=f"Task: {execution.task_name} ({execution.trigger_type})",
        model=options.model,
        model_options=options.model_dump(mode="json", exclude={"mcp_servers"})
        | {"mcp_servers": [s.name for s in options.mcp_servers]},
        provider=provider,  # type: ignore[arg-type]
        created_at=now,
        updated_at=now,
        expires_at=execution.expires_at,
    )
    with contextlib.suppress(ConflictError):  # created by an earlier attempt of this Prepare
        session_store.create(session)
    updated = execution_store.update(
        execution.id,
        {
            "status": "running",
            "started_at": now.isoformat(),
            "session_id": session.id,
            "rendered_prompt": rendered.text,
            "variables_missing": rendered.variables_missing,
            "deadline_at": (now + timedelta(seconds=options.timeout_seconds)).isoformat(),
            "provider": provider,
            "model": options.model,
        },
        status_in={"pending"},
    )
    if updated is None:
        return {"next": "stop"}  # cancelled while preparing
    logger.info("execution prepared", extra={"execution_id": execution.id, "session_id": session.id})
    return {"next": "run"}


# -- run_agent ----------------------------------------------------------------------------------------


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

    execution = _require(execution_id)
    if execution.status != "running" or execution.session_id is None:
        if execution.is_finished:
            drop_workspace(execution)  # e.g. cancelled between invocations
        return {"next": "stop"}
    now = utc_now()
    if execution.deadline_at is not None and now >= execution.deadline_at:
        return _time_out(execution, _timeout_message(execution))
    session = session_store.get(execution.session_id)
    if session is None:
        raise NotFoundError(f"session {execution.session_id} is not stored")
    secret_values = _open_secrets(execution)
    scrubber = Scrubber(secret_values)
    options = _options(execution, secret_values)
    snapshot = execution.task_snapshot
    tool_secrets = {name: secret_values[name] for name in snapshot.get("secrets") or []}
    transcript = session_store.all_messages(session.id)
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

    watched = _WatchedProvider(provider or _select_provider())
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
        )
        if result.outcome == "continue":
            workspaces.save(execution.owner_id, execution.id, root)
        result = _scrubbed_result(result, scrubber)
        return _after_run(execution, session, result, stored, transient=watched.failed_transiently)


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


def _select_provider() -> Any:
    from agent_tasks.agent.providers import select_provider

    return select_provider(get_settings())


def _timeout_message(execution: Execution) -> str:
    seconds = (execution.task_snapshot.get("sdk_options") or {}).get("timeout_seconds")
    return f"the execution ran longer than the task's timeout_seconds ({seconds})"


def _after_run(
    execution: Execution,
    session: Session,
    result: AgentResult,
    transcript: list[TranscriptMessage],
    *,
    transient: bool = False,
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
    finished = result.outcome not in ("continue", "cancelled", "error")
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
    if result.outcome == "continue":
        if result.new_messages == 0:
            # No progress: time is too short for even one model call.
            if stored.deadline_at is not None and (stored.deadline_at - utc_now()).total_seconds() < 60:
                return _time_out(stored, _timeout_message(stored))
            raise AgentRunFailed("one RunAgent invocation has too little time to call the model")
        return {"next": "continue", "messages": len(transcript)}
    if execution.task_snapshot.get("generate_report"):
        return {"next": "report"}
    return {"next": "finalize"}


# -- finalize and mark_failed -------------------------------------------------------------------------


def finalize(execution_id: str, state: dict[str, Any] | None = None) -> dict[str, Any]:
    """Mark completed with its totals, remove the workspace, publish the event (the notifier delivers it)."""
    execution = _require(execution_id)
    if execution.status != "running":
        return {"status": execution.status}
    changes: dict[str, Any] = {}
    report_error = (state or {}).get("report_error")
    if execution.task_snapshot.get("generate_report") and execution.report_id is None:
        changes["report_note"] = "no report was made" + (
            f": {_error_text(report_error)}" if isinstance(report_error, dict) else ""
        )
    if end_execution(execution, "completed", changes=changes, from_statuses={"running"}) is None:
        return {"status": _require(execution_id).status}
    logger.info("execution completed", extra={"execution_id": execution.id})
    return {"status": "completed"}


def _error_text(error: dict[str, Any]) -> str:
    """A person-readable reason from a Step Functions error ({"Error", "Cause"}), without stack traces."""
    name = str(error.get("Error") or "Error")
    cause = error.get("Cause")
    message = ""
    if isinstance(cause, str) and cause:
        try:
            parsed = json.loads(cause)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            name = str(parsed.get("errorType") or name)
            message = str(parsed.get("errorMessage") or "")
        else:
            message = cause
    # Our own failure's message is the reason as people should read it; others keep their error name.
    if name in (AgentRunFailed.__name__, TransientModelError.__name__) and message:
        return message[:MAX_ERROR_MESSAGE_CHARS]
    return (f"{name}: {message}" if message else name)[:MAX_ERROR_MESSAGE_CHARS]


def mark_failed(execution_id: str, error: dict[str, Any] | None) -> dict[str, Any]:
    """Record why the workflow failed; never overwrites an execution that already ended."""
    execution = _require(execution_id)
    if execution.is_finished:
        return {"status": execution.status}
    error = error or {}
    timed_out = error.get("Error") == "States.Timeout"
    ended = end_execution(
        execution,
        "timed_out" if timed_out else "failed",
        reason=_timeout_message(execution) if timed_out else _error_text(error),
    )
    if ended is None:
        return {"status": _require(execution_id).status}
    return {"status": ended.status}


@dataclass(frozen=True)
class StepCall:
    """What the executor passes a step (from its parsed event and its Lambda context)."""

    execution_id: str
    error: dict[str, Any] | None = None
    state: dict[str, Any] | None = None
    remaining_millis: int | None = None


STEPS: dict[str, Callable[[StepCall], dict[str, Any]]] = {
    "prepare": lambda call: prepare(call.execution_id),
    "run_agent": lambda call: run_agent(call.execution_id, remaining_millis=call.remaining_millis),
    "finalize": lambda call: finalize(call.execution_id, call.state),
    "mark_failed": lambda call: mark_failed(call.execution_id, call.error),
}
