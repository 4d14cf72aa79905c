"""What `run --follow` prints: each turn, tool call and result as it arrives, and a live status line."""

from __future__ import annotations

import json
import time
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from agent_tasks_client import models
from agent_tasks_client.client import Progress

SUMMARY_CHARS = 160


def _one_line(text: str, limit: int = SUMMARY_CHARS) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _result_text(content: Any) -> str:
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return str(content or "")


class Transcript:
    """Turns transcript messages into lines, and keeps the running totals for the status line."""

    def __init__(self) -> None:
        self.turns = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.tool_names: dict[str, str] = {}

    def lines(self, message: models.MessageResponse) -> list[Text]:
        out: list[Text] = []
        usage = message.get("usage") or {}
        self.input_tokens += int(usage.get("input_tokens", 0)) + int(usage.get("cache_read_input_tokens", 0))
        self.output_tokens += int(usage.get("output_tokens", 0))
        if message["role"] == "assistant":
            self.turns += 1
        for block in message["content"]:
            kind = block.get("type")
            if message["role"] == "user" and kind == "text" and message["seq"] == 1:
                out.append(Text.assemble(("prompt  ", "bold"), _one_line(block.get("text", ""))))
            elif kind == "text" and message["role"] == "assistant":
                out.append(
                    Text.assemble((f"turn {self.turns}  ", "bold cyan"), _one_line(block.get("text", "")))
                )
            elif kind in ("tool_use", "server_tool_use", "mcp_tool_use"):
                name = str(block.get("name", "?"))
                self.tool_names[str(block.get("id", ""))] = name
                arguments = _one_line(json.dumps(block.get("input", {}), sort_keys=True), 100)
                out.append(Text.assemble(("  tool  ", "yellow"), (name, "bold"), f" {arguments}"))
            elif kind == "tool_result":
                name = self.tool_names.get(str(block.get("tool_use_id", "")), "tool")
                text = _result_text(block.get("content"))
                state = ("error", "red") if block.get("is_error") else ("ok", "green")
                summary = _one_line(text.splitlines()[0] if text.strip() else "(no output)", 100)
                out.append(
                    Text.assemble(
                        ("  result ", "yellow"), f"{name} ", state, f"  {summary} ({len(text)} chars)"
                    )
                )
        return out


class StatusLine:
    """The live line: status, tokens, cost and elapsed time (re-rendered as the clock runs)."""

    def __init__(self, transcript: Transcript) -> None:
        self.transcript = transcript
        self.started = time.monotonic()
        self.execution: models.ExecutionResponse | None = None

    def text(self) -> Text:
        execution = self.execution
        status = execution["status"] if execution else "starting"
        cost = execution.get("cost_usd") if execution else None
        cost_text = f"${cost:.4f}" if isinstance(cost, int | float) else "$?"
        tokens = f"{self.transcript.input_tokens:,} in / {self.transcript.output_tokens:,} out tokens"
        elapsed = time.monotonic() - self.started
        return Text.assemble(
            (f"{status}", "bold"), f"  {tokens}  {cost_text}  {elapsed:.1f}s  turn {self.transcript.turns}"
        )

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.text()


def update(status: StatusLine, progress: Progress, console: Console) -> None:
    status.execution = progress.execution
    for message in progress.messages:
        for line in status.transcript.lines(message):
            console.print(line)


def summary(execution: models.ExecutionResponse, transcript: Transcript) -> Text:
    usage = execution.get("usage") or {}
    tokens_in = int(usage.get("input_tokens", 0)) or transcript.input_tokens
    tokens_out = int(usage.get("output_tokens", 0)) or transcript.output_tokens
    cost = execution.get("cost_usd")
    seconds = execution.get("duration_seconds")
    parts = [
        f"{tokens_in:,} in / {tokens_out:,} out tokens",
        f"${cost:.4f}" if isinstance(cost, int | float) else "cost unknown",
        f"{seconds:.1f}s" if isinstance(seconds, int | float) else "",
    ]
    style = "bold green" if execution["status"] == "completed" else "bold red"
    line = Text.assemble((execution["status"], style), "  " + "  ".join(p for p in parts if p))
    if execution.get("error_message"):
        line.append(f"\n{execution['error_message']}", style="red")
    return line
