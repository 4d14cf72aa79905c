"""What an agent run produces: messages, tool calls, usage, cost and outcome.

The agent loop writes these, the executor stores them, the API and the reporter read them.
Message content is kept in the Messages API's own block format (text, tool_use, tool_result,
server tool blocks) so a stored transcript can be sent back to the model unchanged.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

Role = Literal["user", "assistant"]
ProviderName = Literal["anthropic", "bedrock", "scripted"]
AgentOutcome = Literal[
    "completed", "max_turns", "budget_exceeded", "cancelled", "error", "continue", "waiting"
]


# A tool call's id as the Messages API makes them (`toolu_01A0…`, about 30 characters): letters,
# digits, _ and - (the API refuses any other when the id comes back in a tool_result). 64 bounds what
# a reply can make us store, key decisions on and send back.
MAX_TOOL_USE_ID_CHARS = 64
_TOOL_USE_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_TOOL_USE_ID_CHARS}}}")
ToolUseId = Annotated[
    str, Field(min_length=1, max_length=MAX_TOOL_USE_ID_CHARS, pattern=rf"^{_TOOL_USE_ID.pattern}$")
]


def tool_use_id_problem(value: Any) -> str | None:
    """Why `value` cannot be a tool call's id (None when it can), never quoting more than its start."""
    if isinstance(value, str) and _TOOL_USE_ID.fullmatch(value):
        return None
    if not isinstance(value, str):
        return f"a tool call's id is {type(value).__name__}, not a string"
    shown = repr(value[:24]) + (f"... ({len(value)} characters)" if len(value) > 24 else "")
    return f"a tool call's id {shown} is not 1-{MAX_TOOL_USE_ID_CHARS} letters, digits, _ or -"


class Usage(BaseModel):
    """Token counts as the Messages API reports them."""

    model_config = ConfigDict(extra="forbid")

    input_tokens: NonNegativeInt = 0
    output_tokens: NonNegativeInt = 0
    cache_read_input_tokens: NonNegativeInt = 0
    cache_creation_input_tokens: NonNegativeInt = 0
    # The part of cache_creation_input_tokens written with the 1-hour TTL (priced apart).
    cache_creation_1h_input_tokens: NonNegativeInt = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_input_tokens=self.cache_read_input_tokens + other.cache_read_input_tokens,
            cache_creation_input_tokens=self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            cache_creation_1h_input_tokens=self.cache_creation_1h_input_tokens
            + other.cache_creation_1h_input_tokens,
        )


class TranscriptMessage(BaseModel):
    """One message of a session, in order (`seq` starts at 1)."""

    model_config = ConfigDict(extra="forbid")

    seq: int = Field(ge=1)
    role: Role
    content: list[dict[str, Any]]
    created_at: datetime
    usage: Usage | None = None  # on assistant messages: that model call's usage
    cost_usd: float | None = None  # and its cost, when priced (added to the owner's spend)
    model: str | None = None
    stop_reason: str | None = None
    # On a tool results message: the people's decisions on the calls that waited for approval (kept
    # with the transcript for readers and the report; never sent to the model, which reads the results)
    approvals: list[dict[str, Any]] | None = None


class ToolCallRecord(BaseModel):
    """One tool call the model asked for, and what became of it."""

    model_config = ConfigDict(extra="forbid")

    tool_use_id: str
    name: str
    is_error: bool = False
    permission_denied: bool = False
    duration_ms: NonNegativeInt = 0
    turn: NonNegativeInt = 0


class ModelUsage(BaseModel):
    """What one model did in a run: its turns, tokens and cost (null when it has no price)."""

    model_config = ConfigDict(extra="forbid")

    turns: NonNegativeInt = 0
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = 0.0


class AgentRunState(BaseModel):
    """Counters carried from one RunAgent invocation to the next (stored on the execution)."""

    model_config = ConfigDict(extra="forbid")

    turns: NonNegativeInt = 0
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = 0.0
    tool_calls: NonNegativeInt = 0
    permission_denials: list[ToolCallRecord] = Field(default_factory=list)
    invocations: NonNegativeInt = 0
    # The model now answering: the task's, or its fallback once the task's was unavailable.
    active_model: str | None = None
    model_usage: dict[str, ModelUsage] = Field(default_factory=dict)
    price_table_version: str | None = None
    structured_output_repairs: NonNegativeInt = 0
    # Occurrences of secret values (or their encodings) replaced by [secret:NAME] so far.
    secrets_scrubbed: NonNegativeInt = 0


class PendingToolCall(BaseModel):
    """A tool call the loop held back until a person decides on it."""

    tool_use_id: ToolUseId
    tool: str
    input: Any = None
    text: str | None = None  # what the model wrote before the call


class ToolCallDecision(BaseModel):
    """A person's decision on a held-back call, as the loop applies it."""

    decision: Literal["approve", "deny"]
    reason: str | None = None
    timed_out: bool = False
    approval_id: str | None = None
    decided_by: str | None = None


class AgentResult(BaseModel):
    """What one call of the loop did, and the totals so far."""

    model_config = ConfigDict(extra="forbid")

    outcome: AgentOutcome
    provider: ProviderName
    model: str
    final_text: str | None = None
    state: AgentRunState
    new_messages: NonNegativeInt = 0
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    cost_note: str | None = None  # why cost_usd is null, when it is
    error: str | None = None
    structured_output: Any = None  # the final answer parsed and validated against output_schema
    # outcome "waiting": the tool call that needs a person's approval before it runs
    approval_request: PendingToolCall | None = None
