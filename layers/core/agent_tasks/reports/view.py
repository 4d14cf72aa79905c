"""What the human-readable formats show, prepared once: formatted values and flattened transcript blocks.

The html, markdown and pdf renderers all read a `ReportView`, so they show the same things the
same way; only the markup differs. Values here are plain, unescaped text: each renderer escapes
for its own format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from agent_tasks.reports.document import ReportDocument

# A report is for reading: very long tool output is cut here (the json report keeps all of it).
MAX_BLOCK_CHARS = 20_000

BlockKind = Literal["text", "tool_use", "tool_result", "other"]

_STATUS_LABELS = {
    "pending": "Pending",
    "running": "Running",
    "waiting_for_approval": "Waiting for approval",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "timed_out": "Timed out",
}


@dataclass(frozen=True)
class ViewBlock:
    """One content block of a message, ready to show."""

    kind: BlockKind
    title: str  # e.g. "Tool call: bash"; empty for plain text
    body: str
    is_error: bool = False


@dataclass(frozen=True)
class ViewMessage:
    seq: int
    role: str  # "User" or "Assistant"
    created_at: str
    blocks: list[ViewBlock]


@dataclass(frozen=True)
class ViewFact:
    label: str
    value: str


@dataclass(frozen=True)
class ReportView:
    title: str
    description: str | None
    status: str
    status_key: str
    summary: list[ViewFact]
    prompt: str
    variables: list[ViewFact]
    final_text: str | None
    outcome: str | None
    structured_output: str | None  # pretty-printed JSON, when the task has an output_schema
    error_message: str | None
    messages: list[ViewMessage]
    usage: list[ViewFact]
    tool_usage: list[ViewFact]
    denials: list[str] = field(default_factory=list)
    generated_at: str = ""


def format_time(value: datetime | None) -> str:
    if value is None:
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min {secs} s" if hours else f"{minutes} min {secs} s"


def format_cost(cost_usd: float | None, note: str | None) -> str:
    if cost_usd is None:
        return f"not available ({note})" if note else "not available"
    text = f"${cost_usd:,.4f}"
    return f"{text} ({note})" if note else text


def truncate(text: str, limit: int = MAX_BLOCK_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n… ({len(text) - limit:,} more characters; the json report holds all of it)"


def _json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _tool_result_text(content: Any) -> str:
    """A tool_result's content is a string or a list of blocks (text, image, ...)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for item in content:
            if isinstance(item, dict) and item.get("type") == "text":
                parts.append(str(item.get("text", "")))
            elif isinstance(item, dict):
                parts.append(f"[{item.get('type', 'block')}]")
            else:
                parts.append(str(item))
        return "\n".join(parts)
    return "" if content is None else _json_text(content)


def view_block(block: dict[str, Any], tool_names: dict[str, str]) -> ViewBlock:
    kind = block.get("type")
    if kind == "text":
        return ViewBlock("text", "", truncate(str(block.get("text", ""))))
    if kind in ("tool_use", "server_tool_use", "mcp_tool_use"):
        name = str(block.get("name", "unknown"))
        return ViewBlock("tool_use", f"Tool call: {name}", truncate(_json_text(block.get("input", {}))))
    if kind == "tool_result":
        name = tool_names.get(str(block.get("tool_use_id", "")), "tool")
        is_error = bool(block.get("is_error"))
        title = f"Result of {name}" + (" (error)" if is_error else "")
        return ViewBlock("tool_result", title, truncate(_tool_result_text(block.get("content"))), is_error)
    if kind in ("thinking", "redacted_thinking"):
        return ViewBlock("other", "Thinking", truncate(str(block.get("thinking", "[redacted]"))))
    other = {key: value for key, value in block.items() if key != "type"}
    return ViewBlock("other", f"Block: {kind}", truncate(_json_text(other)))


def approval_block(approval: dict[str, Any]) -> ViewBlock:
    """A person's decision on a call that waited for approval (kept with the tool results)."""
    decision = "approved" if approval.get("decision") == "approve" else "denied"
    who = "on timeout" if approval.get("timed_out") else f"by {approval.get('decided_by') or 'a person'}"
    title = f"Approval of {approval.get('tool', 'tool')}: {decision} {who}"
    return ViewBlock("other", title, truncate(str(approval.get("reason") or "")))


def build_view(document: ReportDocument) -> ReportView:
    execution = document.execution
    tool_names = {
        str(block.get("id")): str(block.get("name", "tool"))
        for message in document.transcript
        for block in message.content
        if block.get("type") in ("tool_use", "server_tool_use", "mcp_tool_use")
    }
    messages = [
        ViewMessage(
            seq=message.seq,
            role=message.role.capitalize(),
            created_at=format_time(message.created_at),
            blocks=[view_block(block, tool_names) for block in message.content]
            + [approval_block(approval) for approval in message.approvals or []],
        )
        for message in document.transcript
    ]
    trigger = execution.trigger_type
    if execution.trigger_metadata:
        trigger += " (" + ", ".join(f"{k}: {v}" for k, v in execution.trigger_metadata.items()) + ")"
    summary = [
        ViewFact("Status", _STATUS_LABELS.get(execution.status, execution.status)),
        ViewFact("Trigger", trigger),
        ViewFact("Created", format_time(execution.created_at)),
        ViewFact("Started", format_time(execution.started_at)),
        ViewFact("Completed", format_time(execution.completed_at)),
        ViewFact("Duration", format_duration(execution.duration_seconds)),
        ViewFact("Model", f"{document.model} ({document.provider})"),
        ViewFact("Task version", str(document.task.version)),
        ViewFact("Execution id", execution.id),
        ViewFact("Task id", document.task.id),
    ]
    usage = document.usage
    usage_facts = [
        ViewFact("Input tokens", f"{usage.input_tokens:,}"),
        ViewFact("Output tokens", f"{usage.output_tokens:,}"),
        ViewFact("Cache read tokens", f"{usage.cache_read_input_tokens:,}"),
        ViewFact("Cache write tokens", f"{usage.cache_creation_input_tokens:,}"),
        ViewFact("Cost", format_cost(document.cost_usd, document.cost_note)),
    ]
    calls = document.tool_calls
    tool_facts = [ViewFact("Tool calls", str(calls.total))]
    tool_facts += [ViewFact(name, str(count)) for name, count in calls.by_name.items()]
    tool_facts.append(ViewFact("Tool errors", str(calls.errors)))
    tool_facts.append(ViewFact("Permission denials", str(len(calls.permission_denials))))
    return ReportView(
        title=document.task.name,
        description=document.task.description,
        status=_STATUS_LABELS.get(execution.status, execution.status),
        status_key=execution.status,
        summary=summary,
        prompt=truncate(document.prompt),
        variables=[ViewFact(name, _variable_text(value)) for name, value in document.variables.items()],
        final_text=truncate(document.result.final_text) if document.result.final_text is not None else None,
        outcome=document.result.outcome,
        structured_output=None
        if document.result.structured_output is None
        else truncate(json.dumps(document.result.structured_output, indent=2, ensure_ascii=False)),
        error_message=execution.error_message,
        messages=messages,
        usage=usage_facts,
        tool_usage=tool_facts,
        denials=[f"{record.name} (turn {record.turn})" for record in calls.permission_denials],
        generated_at=format_time(document.generated_at),
    )


def _variable_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
