"""Human approval of chosen tool calls: the task's setting, the stored request, the answer, the decision.

A task's `approval` names tools whose calls wait for a person: the loop stops before running such a
call, the call is stored as an approval request (under its execution), the workflow waits on a
Step Functions task token, and the owner approves or denies it through the API.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from agent_tasks.agent import catalog
from agent_tasks.models.common import API_BASE, is_stored

ApprovalDecision = Literal["approve", "deny"]
OnTimeout = Literal["deny", "approve"]
ApprovalStatus = Literal["pending", "approved", "denied", "timed_out", "cancelled"]

MIN_APPROVAL_TIMEOUT_SECONDS = 60
MAX_APPROVAL_TIMEOUT_SECONDS = 604_800  # 7 days
DEFAULT_APPROVAL_TIMEOUT_SECONDS = 3600
MAX_REASON_CHARS = 2000
# What an approval request keeps of the call (the model's text before it and the tool's input).
MAX_APPROVAL_TEXT_CHARS = 4000
MAX_APPROVAL_INPUT_CHARS = 8000
# Approval ids are uuid5 names in this namespace (a fixed, random uuid4; never change it: stored ids
# are found by recomputing them).
APPROVAL_ID_NAMESPACE = uuid.UUID("9a39660a-f099-4afe-bf9c-49fa6b80e3c3")


def approval_id_for(execution_id: str, tool_use_id: str) -> str:
    """The id of the request about one tool call of one execution: the same on every retry, so the
    request is read by its key (one GetItem) and stored once (a conditional put). The tool_use_id is
    validated (ToolUseId: 1-64 of [A-Za-z0-9_-]), so the name is unambiguous."""
    return str(uuid.uuid5(APPROVAL_ID_NAMESPACE, f"{execution_id}/{tool_use_id}"))


def _local_tool(name: str) -> str:
    canonical = catalog.canonical_name(name)
    if canonical is None or canonical not in catalog.LOCAL_TOOLS:
        what = "runs on the model API's side" if canonical is not None else "is not a tool the service runs"
        raise ValueError(
            f"{name!r} {what}, so a call to it cannot wait for approval; approval applies to "
            f"{', '.join(catalog.LOCAL_TOOLS)} (or their aliases)"
        )
    return name


ApprovalToolName = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_local_tool)]


class ApprovalConfig(BaseModel):
    """The task's `approval`: which tool calls wait for a person, how long, and what a timeout means."""

    model_config = ConfigDict(extra="forbid")

    tools: Annotated[
        list[ApprovalToolName],
        Field(
            min_length=1,
            max_length=16,
            description="Tools (of the service's own: bash, read_file, write_file, edit_file, list_files, "
            "grep, http_request, or their aliases) whose every call waits for approval.",
        ),
    ]
    timeout_seconds: Annotated[
        int,
        Field(
            ge=MIN_APPROVAL_TIMEOUT_SECONDS,
            le=MAX_APPROVAL_TIMEOUT_SECONDS,
            description="How long a request waits for an answer (60 s to 7 days).",
        ),
    ] = DEFAULT_APPROVAL_TIMEOUT_SECONDS
    on_timeout: Annotated[
        OnTimeout, Field(description="What an unanswered request becomes when it times out.")
    ] = "deny"

    @field_validator("tools", mode="wrap")
    @classmethod
    def _stored_as_is(cls, value: Any, handler: Any, info: ValidationInfo) -> Any:
        if is_stored(info) and isinstance(value, list):
            return [str(name) for name in value]  # a stored task is loaded, not judged again
        tools = handler(value)
        return list(dict.fromkeys(tools))

    def canonical_tools(self) -> frozenset[str]:
        return frozenset(catalog.canonical_name(name) or name for name in self.tools)


class DecisionRequest(BaseModel):
    """The body of POST /task-executions/{id}/approvals/{approval_id}."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    decision: ApprovalDecision
    reason: Annotated[
        str | None,
        Field(max_length=MAX_REASON_CHARS, description="Why; a denial's reason is what the model reads."),
    ] = None


class ApprovalView(BaseModel):
    """An approval request as stored and answered (the task token is kept apart: see Approval)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    id: str
    execution_id: str
    task_id: str
    owner_id: str
    tool_use_id: str = Field(description="The id of the model's tool call it holds back.")
    tool: str
    input: Any = Field(default=None, description="The tool call's input (secrets scrubbed, capped).")
    input_truncated: bool = False
    text: str | None = Field(default=None, description="What the model wrote before the call.")
    status: ApprovalStatus
    requested_at: datetime
    expires_at: datetime
    timeout_seconds: int
    on_timeout: OnTimeout
    decided_at: datetime | None = None
    decided_by: str | None = Field(
        default=None, description="The user who answered; `timeout` when none did."
    )
    reason: str | None = None

    @property
    def decision(self) -> ApprovalDecision | None:
        """What the loop does with the call: approve (run it) or deny (a tool error); None while pending."""
        if self.status == "approved":
            return "approve"
        if self.status in ("denied", "cancelled"):
            return "deny"
        if self.status == "timed_out":
            return self.on_timeout
        return None


class Approval(ApprovalView):
    """A stored approval request; `task_token` (the workflow's, to resume it) never leaves the store's
    callers: answers are ApprovalResponse, which has no such field."""

    task_token: str | None = Field(default=None, exclude=True, repr=False)
    expires_at_epoch: int | None = Field(default=None, exclude=True)  # the item's TTL (the execution's)


class ApprovalResponse(ApprovalView):
    """An approval request as the API answers it."""

    model_config = ConfigDict(populate_by_name=True)

    links: dict[str, str] = Field(
        alias="_links", description="self, execution, and approve/deny while pending."
    )

    @classmethod
    def of(cls, approval: Approval) -> ApprovalResponse:
        base = f"{API_BASE}/task-executions/{approval.execution_id}"
        links = {"self": f"{base}/approvals/{approval.id}", "execution": base}
        if approval.status == "pending":
            links["decide"] = f"{base}/approvals/{approval.id}"
        fields = {name: getattr(approval, name) for name in ApprovalView.model_fields}
        return cls.model_construct(**fields, links=links)


__all__ = [
    "Approval",
    "ApprovalConfig",
    "ApprovalDecision",
    "ApprovalResponse",
    "ApprovalStatus",
    "ApprovalView",
    "DecisionRequest",
    "OnTimeout",
    "approval_id_for",
]
