"""The report document: everything a report of one execution shows, as one versioned model.

Every format (html, pdf, json, markdown) is rendered from a `ReportDocument`; the json format
is this model itself, so its JSON schema (`ReportDocument.model_json_schema()`) is the contract
for anyone reading json reports. Changing a field's meaning or removing one needs a new
`schema_version`; adding an optional field does not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

from agent_tasks.models.common import ExecutionStatus
from agent_tasks.models.transcript import (
    AgentOutcome,
    ProviderName,
    ToolCallRecord,
    TranscriptMessage,
    Usage,
)

REPORT_SCHEMA_VERSION = "1.0"


class ReportTask(BaseModel):
    """The task as it was when the execution ran (the execution's task snapshot)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Task id (UUID).")
    name: str = Field(description="Task name, unique per owner.")
    description: str | None = Field(default=None, description="The task's free-text description.")
    version: NonNegativeInt = Field(description="The task definition version this execution ran.")


class ReportExecution(BaseModel):
    """The execution the report describes."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Execution id (UUID).")
    status: ExecutionStatus = Field(description="Execution status when the report was generated.")
    trigger_type: str = Field(description="What started the execution, e.g. `manual` or `scheduled`.")
    trigger_metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="Details of the trigger, e.g. the schedule slot time for scheduled runs.",
    )
    session_id: str | None = Field(default=None, description="Id of the session the agent ran in.")
    created_at: datetime = Field(description="When the execution was requested.")
    started_at: datetime | None = Field(default=None, description="When the agent started running.")
    completed_at: datetime | None = Field(default=None, description="When the execution ended.")
    duration_seconds: float | None = Field(
        default=None, ge=0, description="Wall time from start to end, in seconds."
    )
    error_message: str | None = Field(default=None, description="Why the execution failed, when it did.")


class ReportResult(BaseModel):
    """What the agent answered and how its loop ended."""

    model_config = ConfigDict(extra="forbid")

    final_text: str | None = Field(default=None, description="The agent's final answer text.")
    outcome: AgentOutcome | None = Field(
        default=None,
        description="How the agent loop ended (completed, max_turns, budget_exceeded, cancelled, error).",
    )
    structured_output: Any = Field(
        default=None, description="The final answer validated against the task's output_schema."
    )


class ToolCallSummary(BaseModel):
    """Tool use over the whole execution."""

    model_config = ConfigDict(extra="forbid")

    total: NonNegativeInt = Field(default=0, description="Number of tool calls the model made.")
    by_name: dict[str, NonNegativeInt] = Field(
        default_factory=dict, description="Number of calls per tool name."
    )
    errors: NonNegativeInt = Field(default=0, description="Tool results flagged as errors.")
    permission_denials: list[ToolCallRecord] = Field(
        default_factory=list,
        description="Calls refused because the task may not use that tool (the run went on).",
    )

    @classmethod
    def from_transcript(
        cls, messages: Iterable[TranscriptMessage], permission_denials: Iterable[ToolCallRecord] = ()
    ) -> ToolCallSummary:
        """Count the tool_use and tool_result blocks of a transcript."""
        names: Counter[str] = Counter()
        errors = 0
        for message in messages:
            for block in message.content:
                kind = block.get("type")
                if kind in ("tool_use", "server_tool_use", "mcp_tool_use"):
                    names[str(block.get("name", "unknown"))] += 1
                elif kind == "tool_result" and block.get("is_error"):
                    errors += 1
        return cls(
            total=sum(names.values()),
            by_name=dict(sorted(names.items())),
            errors=errors,
            permission_denials=list(permission_denials),
        )


class ReportDocument(BaseModel):
    """Everything a report of one execution shows (schema version 1.0)."""

    model_config = ConfigDict(
        extra="forbid",
        title="ReportDocument",
        json_schema_extra={"$comment": "Agent Tasks execution report; see schema_version."},
    )

    schema_version: Literal["1.0"] = Field(
        default="1.0", description="Version of this document's shape; readers should check it."
    )
    generated_at: datetime = Field(description="When the report was generated.")
    task: ReportTask = Field(description="The task that ran.")
    execution: ReportExecution = Field(description="The execution reported on.")
    prompt: str = Field(description="The prompt sent to the agent, with variables substituted.")
    variables: dict[str, Any] = Field(
        default_factory=dict, description="The variables the prompt was rendered with."
    )
    result: ReportResult = Field(default_factory=ReportResult, description="The final answer and outcome.")
    transcript: list[TranscriptMessage] = Field(
        default_factory=list,
        description="The session's messages in order, in the Messages API block format "
        "(text, tool_use, tool_result, ...).",
    )
    tool_calls: ToolCallSummary = Field(
        default_factory=ToolCallSummary, description="Tool use totals and permission denials."
    )
    usage: Usage = Field(default_factory=Usage, description="Token usage summed over every model call.")
    cost_usd: float | None = Field(
        default=None, ge=0, description="Estimated cost in US dollars; null when it cannot be priced."
    )
    cost_note: str | None = Field(default=None, description="Why cost_usd is null or approximate.")
    provider: ProviderName = Field(description="Model provider: anthropic, bedrock or scripted (offline).")
    model: str = Field(description="Model id the agent ran with.")
