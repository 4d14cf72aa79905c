"""Executions and the sessions they run in: what is stored, what the API takes and answers."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeInt,
    PlainValidator,
    WithJsonSchema,
    field_validator,
)

from agent_tasks.console import execution_console_url
from agent_tasks.jsontext import JsonNumber, loads
from agent_tasks.models.approvals import ApprovalConfig
from agent_tasks.models.common import API_BASE, ExecutionStatus
from agent_tasks.models.notifications import DeliveryOutcome
from agent_tasks.models.transcript import (
    AgentOutcome,
    AgentRunState,
    ModelUsage,
    ProviderName,
    ToolCallRecord,
    TranscriptMessage,
    Usage,
)

TriggerType = Literal["manual", "scheduled", "rerun"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled", "timed_out", "expired"})
# The one list of statuses that count as running: an execution in one holds a run slot (the concurrency
# limits count it) and the overlap policies see it as going. A status a workflow can be in goes here.
RUNNING_STATUSES: frozenset[str] = frozenset({"pending", "running", "waiting_for_approval"})
# Not ended: running, or queued (written, waiting for a run slot; the overlap policies count it too).
ACTIVE_STATUSES: frozenset[str] = RUNNING_STATUSES | {"queued"}

MAX_VARIABLES = 64
MAX_VARIABLE_BYTES = 10_000  # UTF-8, as stored; 64 of them spill to S3 (store/executions.py)
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _variable_value(value: Any) -> str | bool | int | JsonNumber:
    """A string, boolean or number, kept as given: a JSON number with a fraction or an exponent stays
    a JsonNumber, so it renders as the caller wrote it (`2.0`, `1e20`) wherever it is rendered."""
    if isinstance(value, str | bool | int | JsonNumber):
        return value
    if isinstance(value, float):
        return JsonNumber(repr(value))  # from Python callers; JSON bodies give JsonNumber already
    raise ValueError("a variable must be a string, a number or a boolean")


VariableValue = Annotated[
    str | bool | int | JsonNumber,
    PlainValidator(_variable_value),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}),
]


def _stored_variables(value: Any) -> Any:
    # The execution store keeps variables as their JSON text (numbers exactly as written).
    return loads(value) if isinstance(value, str) else value


Variables = Annotated[dict[str, VariableValue], BeforeValidator(_stored_variables)]


def check_variables(variables: dict[str, Any]) -> dict[str, Any]:
    """At most 64 variables, names like identifiers, values strings/numbers/booleans of bounded size."""
    if len(variables) > MAX_VARIABLES:
        raise ValueError(f"at most {MAX_VARIABLES} variables are allowed, got {len(variables)}")
    bad = sorted(name for name in variables if not _VARIABLE_NAME.match(name))
    if bad:
        raise ValueError(
            f"variable names must match [A-Za-z_][A-Za-z0-9_]*: {', '.join(repr(b) for b in bad[:5])}"
        )
    for name, value in variables.items():
        size = len(str(value).encode("utf-8"))
        if size > MAX_VARIABLE_BYTES:
            raise ValueError(f"variable {name!r} is {size:,} bytes in UTF-8; at most {MAX_VARIABLE_BYTES:,}")
    return variables


class ExecuteRequest(BaseModel):
    """The body of POST /tasks/{id}/execute and /preview."""

    model_config = ConfigDict(extra="forbid")

    variables: dict[str, VariableValue] = Field(
        default_factory=dict,
        json_schema_extra={
            "propertyNames": {"pattern": _VARIABLE_NAME.pattern},
            "maxProperties": MAX_VARIABLES,
        },
        description="Values for the prompt template's variables: strings, numbers or booleans (at most 64).",
    )

    @field_validator("variables")
    @classmethod
    def _variables(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_variables(value)


class ResultData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    final_text: str | None = None
    outcome: AgentOutcome | None = None
    structured_output: Any = Field(
        default=None, description="The final answer, parsed and validated against the task's output_schema."
    )
    secrets_scrubbed: int = Field(
        default=0, ge=0, description="Secret values (or encodings of them) replaced by [secret:NAME]."
    )


class NotificationRecord(BaseModel):
    """What became of one notification of the execution's end (a failure never fails the execution)."""

    model_config = ConfigDict(extra="forbid")

    destination: Literal["eventbridge", "webhook"]
    status: Literal["delivered", "failed"]
    event_id: str | None = None
    detail: str | None = None
    webhook: DeliveryOutcome | None = None


class ExecutionView(BaseModel):
    """What an execution is, as stored and as answered (the one list of its fields)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    task_id: str
    owner_id: str
    task_name: str
    task_version: int
    task_snapshot: dict[str, Any] = Field(description="The task definition it ran (secrets excluded).")
    session_id: str | None = None
    report_id: str | None = None
    report_note: str | None = None
    trigger_type: TriggerType
    trigger_metadata: dict[str, Any] = Field(default_factory=dict)
    prompt_variables: Variables = Field(default_factory=dict)
    rendered_prompt: str | None = None
    variables_missing: list[str] = Field(default_factory=list)
    status: ExecutionStatus
    error_message: str | None = None
    result_data: ResultData | None = None
    total_messages: NonNegativeInt = 0
    total_tool_calls: NonNegativeInt = 0
    permission_denials: list[ToolCallRecord] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = None
    cost_note: str | None = None
    provider: ProviderName | None = None
    model: str | None = None
    model_usage: dict[str, ModelUsage] = Field(
        default_factory=dict, description="Turns, tokens and cost per model that answered (e.g. a fallback)."
    )
    price_table_version: str | None = Field(default=None, description="The price table the cost came from.")
    duration_seconds: float | None = None
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    deadline_at: datetime | None = None
    pending_approval_id: str | None = Field(
        default=None,
        description="While `waiting_for_approval`: the approval request it waits on (`_links.approvals`).",
    )
    notifications: list[NotificationRecord] = Field(default_factory=list)
    expires_at: int | None = Field(
        default=None, description="When it and all of it (session, messages, report) expire, Unix seconds."
    )
    queued_until: datetime | None = Field(
        default=None,
        description="While queued (over a concurrency limit): when it ends `expired` if it has not started.",
    )
    dequeued_at: datetime | None = Field(
        default=None, description="When a queued execution got its run slot and was started."
    )
    waiting_until: datetime | None = Field(
        default=None,
        description="A scheduled run started ahead of its slot (the schedule lookahead): `pending`, its "
        "workflow waits until this time (the slot, plus its jitter), then the slot is decided as if "
        "it started then (pause, edit, overlap policy, concurrency limits). It holds no run slot and "
        "does not count as running while it waits; cleared when the slot begins.",
    )

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL_STATUSES


class Execution(ExecutionView):
    """A stored execution, with the run state only the workflow reads."""

    agent_state: AgentRunState | None = None
    created_by: str | None = None
    # The run-slot sets it holds while running ("user", "task"): released when it ends (concurrency.py).
    run_slots: list[str] = Field(default_factory=list)
    # A run queued at its slot: the task token its workflow's WaitForTurn state waits on (stored only
    # while it is queued: store/executions.record_turn_token). Whoever admits or ends the run hands it
    # back (services/slot_time.py). Never dumped (the store writes it alone), never in a repr or a log.
    turn_token: str | None = Field(default=None, exclude=True, repr=False)


class ExecutionResponse(ExecutionView):
    """An execution as the API answers it (internal run state left out)."""

    model_config = ConfigDict(populate_by_name=True)

    links: dict[str, str] = Field(
        alias="_links",
        description="self, task, and session/messages/report/cancel/rerun when they apply; console (the "
        "workflow run in the Step Functions console) when deployed in AWS.",
    )
    last_message_seq: NonNegativeInt = Field(
        default=0,
        description="The seq of the last transcript message recorded on the execution (updated after each "
        "agent step; final once it has ended). Follow newer ones with the session's "
        "`messages?after=<seq>&wait=<seconds>`.",
    )

    @classmethod
    def of(cls, execution: Execution) -> ExecutionResponse:
        base = f"{API_BASE}/task-executions/{execution.id}"
        links: dict[str, str] = {"self": base, "task": f"{API_BASE}/tasks/{execution.task_id}"}
        if execution.session_id:
            links["session"] = f"{API_BASE}/sessions/{execution.session_id}"
            links["messages"] = f"{API_BASE}/sessions/{execution.session_id}/messages"
        if execution.report_id:
            links["report"] = f"{API_BASE}/reports/{execution.report_id}"
        if execution.task_snapshot.get("approval"):
            links["approvals"] = f"{base}/approvals"
        if execution.is_finished:
            links["rerun"] = f"{base}/rerun"
        else:
            links["cancel"] = f"{base}/cancel"
        console = execution_console_url(execution.id)
        if console is not None:
            links["console"] = console
        # The stored execution is already valid: answer it without validating it all again.
        fields = {name: getattr(execution, name) for name in ExecutionView.model_fields}
        # Seqs run from 1 without gaps, so the last recorded seq is the count of messages recorded.
        return cls.model_construct(**fields, links=links, last_message_seq=execution.total_messages)


class Session(BaseModel):
    """The session an execution's agent ran in."""

    model_config = ConfigDict(extra="ignore")

    id: str
    owner_id: str
    execution_id: str
    task_id: str
    name: str
    model: str
    model_options: dict[str, Any] = Field(default_factory=dict)
    provider: ProviderName | None = None
    message_count: NonNegativeInt = 0
    created_at: datetime
    updated_at: datetime
    # When this and everything of its execution expire (Unix seconds: the table's TTL attribute).
    expires_at: int | None = None


class SessionResponse(Session):
    links: dict[str, str] = Field(alias="_links")

    model_config = ConfigDict(populate_by_name=True)

    @classmethod
    def of(cls, session: Session) -> SessionResponse:
        base = f"{API_BASE}/sessions/{session.id}"
        return cls(
            **session.model_dump(),
            links={
                "self": base,
                "messages": f"{base}/messages",
                "execution": f"{API_BASE}/task-executions/{session.execution_id}",
                "task": f"{API_BASE}/tasks/{session.task_id}",
            },
        )


class MessageResponse(TranscriptMessage):
    """One stored message of a session's transcript."""

    model_config = ConfigDict(extra="forbid")


class PreviewResponse(BaseModel):
    """What an execution would run, without running it."""

    model_config = ConfigDict(populate_by_name=True)

    task_id: str
    task_version: int
    rendered_prompt: str
    variables_used: list[str]
    variables_missing: list[str]
    effective_tools: list[str] = Field(
        description="Tools the agent would be offered, after permission_mode and disallowed_tools."
    )
    permission_mode: str
    model: str
    next_fire_times: list[datetime] | None = Field(
        default=None, description="The next 5 fire times, when the task is scheduled."
    )
    secrets: list[str] = Field(
        default_factory=list, description="Names of the secrets a run would get (never their values)."
    )
    secrets_missing: list[str] = Field(
        default_factory=list, description="Referenced secrets that do not exist: a run would fail at Prepare."
    )
    approval: ApprovalConfig | None = Field(
        default=None, description="Tool calls that would wait for a person's approval, and for how long."
    )
    links: dict[str, str] = Field(alias="_links")


__all__ = [
    "ACTIVE_STATUSES",
    "RUNNING_STATUSES",
    "TERMINAL_STATUSES",
    "ExecuteRequest",
    "Execution",
    "ExecutionResponse",
    "ExecutionStatus",
    "MessageResponse",
    "NotificationRecord",
    "PreviewResponse",
    "ResultData",
    "Session",
    "SessionResponse",
    "TranscriptMessage",
    "TriggerType",
]
