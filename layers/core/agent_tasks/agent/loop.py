"""The agent loop: call the model, run the tools it asks for, feed the results back, until done.

Resumable: every message is handed to `on_message` as soon as it exists, and a later call
given the stored transcript goes on exactly where the last stopped. A turn is never half
written: an assistant message is stored whole, and the results of all its tool calls are
stored together in the next user message (if an invocation ends between the two, the next
one runs those tools first).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent_tasks.agent import catalog
from agent_tasks.agent.definitions import api_messages, mcp_server_definitions, tool_definitions
from agent_tasks.agent.model_api import (
    MAX_REQUEST_TIMEOUT_SECONDS,
    ModelCallError,
    ModelProvider,
    ModelRequest,
)
from agent_tasks.agent.permissions import ToolPolicy, resolve_policy
from agent_tasks.agent.pricing import cost_usd
from agent_tasks.agent.providers import select_provider
from agent_tasks.agent.tools import (
    LOCAL_TOOL_IMPLEMENTATIONS,
    ToolContext,
    ToolOutput,
    ToolRegistry,
    run_local_tool,
)
from agent_tasks.models.sdk_options import SdkOptions
from agent_tasks.models.transcript import (
    AgentOutcome,
    AgentResult,
    AgentRunState,
    Role,
    ToolCallRecord,
    TranscriptMessage,
)
from agent_tasks.observability import logger, subsegment
from agent_tasks.settings import Settings, get_settings


@dataclass(frozen=True, slots=True)
class LoopLimits:
    """How much of the invocation's time budget the loop keeps in hand."""

    # Kept free at the end of an invocation for storing state and returning.
    safety_margin_seconds: float = 10.0
    # A model call starts only if this much is left (or 1.5x the longest call seen, if more).
    min_model_call_seconds: float = 20.0
    # Tool calls start only if this much is left; each tool is also bounded by the deadline.
    min_tool_seconds: float = 5.0


SCRIPTED_COST_NOTE = "scripted provider: no model was called, so the cost is 0"


def _text_of(message: TranscriptMessage) -> str:
    return "".join(block.get("text", "") for block in message.content if block.get("type") == "text")


def _pending_tool_uses(message: TranscriptMessage) -> list[dict[str, Any]]:
    return [block for block in message.content if block.get("type") == "tool_use"]


def run_agent(
    *,
    prompt: str,
    options: SdkOptions,
    allowed_tools: list[str],
    disallowed_tools: list[str],
    transcript: list[TranscriptMessage],
    state: AgentRunState,
    workdir: Path,
    on_message: Callable[[TranscriptMessage], None],
    deadline: Callable[[], float],
    should_cancel: Callable[[], bool] = lambda: False,
    provider: ModelProvider | None = None,
    tool_registry: ToolRegistry | None = None,
    settings: Settings | None = None,
    limits: LoopLimits | None = None,
) -> AgentResult:
    """Run (or resume) the loop until the model ends its turn, a limit is hit, or time runs short.

    `state` is not modified: the returned result carries the updated counters.
    """
    settings = settings or get_settings()
    run = _AgentRun(
        prompt=prompt,
        options=options,
        policy=resolve_policy(
            allowed_tools=allowed_tools,
            disallowed_tools=disallowed_tools,
            permission_mode=options.permission_mode,
            mcp_servers=options.mcp_servers,
        ),
        transcript=list(transcript),
        state=state.model_copy(deep=True),
        tool_context=ToolContext(
            workdir=workdir, deadline=deadline, allow_private_network=settings.allow_private_network
        ),
        on_message=on_message,
        deadline=deadline,
        should_cancel=should_cancel,
        provider=provider or select_provider(settings),
        registry=tool_registry if tool_registry is not None else LOCAL_TOOL_IMPLEMENTATIONS,
        limits=limits or LoopLimits(),
    )
    return run.execute()


class _AgentRun:
    """One invocation's bookkeeping; `execute` is the loop."""

    def __init__(
        self,
        *,
        prompt: str,
        options: SdkOptions,
        policy: ToolPolicy,
        transcript: list[TranscriptMessage],
        state: AgentRunState,
        tool_context: ToolContext,
        on_message: Callable[[TranscriptMessage], None],
        deadline: Callable[[], float],
        should_cancel: Callable[[], bool],
        provider: ModelProvider,
        registry: ToolRegistry,
        limits: LoopLimits,
    ) -> None:
        self.limits = limits
        self.prompt = prompt
        self.options = options
        self.policy = policy
        self.transcript = transcript
        self.state = state
        self.tool_context = tool_context
        self.on_message = on_message
        self.deadline = deadline
        self.should_cancel = should_cancel
        self.provider = provider
        self.registry = registry
        self.tools = tool_definitions(policy, registry)
        self.mcp_servers = mcp_server_definitions(policy, options.mcp_servers)
        self.new_messages = 0
        self.records: list[ToolCallRecord] = []
        self.longest_call = 0.0
        self.cost_note: str | None = None

    # -- the loop ---------------------------------------------------------------------------------------

    def execute(self) -> AgentResult:
        self.state.invocations += 1
        if self.provider.name == "scripted":
            self.cost_note = SCRIPTED_COST_NOTE
        if not self.transcript:
            self._emit("user", [{"type": "text", "text": self.prompt}])
        while True:
            last = self.transcript[-1]
            if last.role == "assistant":
                pending = _pending_tool_uses(last)
                if pending:
                    if self.should_cancel():
                        return self._finish("cancelled")
                    if self.deadline() < self.limits.min_tool_seconds + self.limits.safety_margin_seconds:
                        return self._finish("continue")
                    self._run_tools(pending)
                    continue
                if last.stop_reason == "refusal":
                    return self._finish(
                        "error", error="the model declined to continue (stop_reason: refusal)"
                    )
                if last.stop_reason != "pause_turn":
                    return self._finish("completed", final_text=_text_of(last))
            stop = self._limit_reached()
            if stop is not None:
                return self._finish(stop)
            try:
                self._call_model()
            except ModelCallError as err:
                if err.timed_out and self.deadline() < self._call_reserve():
                    return self._finish("continue")
                logger.warning(
                    "model call failed", extra={"status": err.status, "provider": self.provider.name}
                )
                return self._finish("error", error=err.message)

    def _limit_reached(self) -> AgentOutcome | None:
        """Checked before every model call, after any pending tools ran (so pairs stay intact)."""
        if self.should_cancel():
            return "cancelled"
        if self.state.turns >= self.options.max_turns:
            return "max_turns"
        budget = self.options.max_budget_usd
        if budget is not None and self.state.cost_usd is not None and self.state.cost_usd >= budget:
            return "budget_exceeded"
        if self.deadline() < self._call_reserve():
            return "continue"
        return None

    def _call_reserve(self) -> float:
        return (
            max(self.limits.min_model_call_seconds, 1.5 * self.longest_call)
            + self.limits.safety_margin_seconds
        )

    # -- model ------------------------------------------------------------------------------------------

    def _call_model(self) -> None:
        request = ModelRequest(
            model=self.options.model,
            messages=api_messages(self.transcript),
            max_tokens=self.options.max_tokens,
            system=self.options.system_prompt,
            tools=self.tools,
            temperature=self.options.temperature,
            mcp_servers=self.mcp_servers,
            timeout_seconds=min(
                MAX_REQUEST_TIMEOUT_SECONDS, self.deadline() - self.limits.safety_margin_seconds
            ),
        )
        started = time.monotonic()
        with subsegment("## model call", provider=self.provider.name, model=self.options.model) as segment:
            response = self.provider.create_message(request)
            segment.put_metadata("usage", response.usage.model_dump(), "agent_tasks")
        self.longest_call = max(self.longest_call, time.monotonic() - started)
        self.state.turns += 1
        self.state.usage = self.state.usage + response.usage
        self._add_cost(response.model, response.usage)
        self._emit(
            "assistant",
            response.content,
            usage=response.usage,
            model=response.model,
            stop_reason=response.stop_reason,
        )

    def _add_cost(self, answered_by: str, usage: Any) -> None:
        if self.provider.name == "scripted":
            return
        cost = cost_usd(answered_by, usage)
        if cost is None:
            cost = cost_usd(self.options.model, usage)
        if cost is None:
            self.state.cost_usd = None
        elif self.state.cost_usd is not None:
            self.state.cost_usd = round(self.state.cost_usd + cost, 8)
        if self.state.cost_usd is None:
            self.cost_note = (
                f"no price is known for model {self.options.model!r}, so the cost is not reported"
            )
            if self.options.max_budget_usd is not None:
                self.cost_note += "; max_budget_usd cannot be enforced"

    # -- tools ------------------------------------------------------------------------------------------

    def _run_tools(self, calls: list[dict[str, Any]]) -> None:
        results = []
        for call in calls:
            output, record = self._run_tool(call)
            self.records.append(record)
            self.state.tool_calls += 1
            if record.permission_denied:
                self.state.permission_denials.append(record)
            result: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": record.tool_use_id,
                "content": output.text,
            }
            if output.is_error:
                result["is_error"] = True
            results.append(result)
        self._emit("user", results)

    def _run_tool(self, call: dict[str, Any]) -> tuple[ToolOutput, ToolCallRecord]:
        name = call.get("name")
        name = name if isinstance(name, str) else ""
        with subsegment(f"## tool {name[:64]}", tool=name[:64]) as segment:
            output, record = self._run_tool_call(call, name)
            segment.put_annotation("is_error", record.is_error)
            segment.put_annotation("permission_denied", record.permission_denied)
        return output, record

    def _run_tool_call(self, call: dict[str, Any], name: str) -> tuple[ToolOutput, ToolCallRecord]:
        started = time.monotonic()
        canonical = catalog.canonical_name(name)
        denial = self.policy.denial_reason(name) if canonical is not None else None
        if canonical is None:
            offered = ", ".join(sorted(self.policy.local)) or "none"
            output = ToolOutput(
                f"unknown tool {name!r}; the tools available here are: {offered}", is_error=True
            )
        elif denial is not None:
            output = ToolOutput(denial, is_error=True)
        elif canonical not in self.registry:
            output = ToolOutput(f"{canonical!r} runs on the model API's side and cannot be called here", True)
        else:
            output = run_local_tool(self.registry[canonical], call.get("input"), self.tool_context)
        record = ToolCallRecord(
            tool_use_id=str(call.get("id", "")),
            name=canonical or name,
            is_error=output.is_error,
            permission_denied=denial is not None,
            duration_ms=int((time.monotonic() - started) * 1000),
            turn=self.state.turns,
        )
        return output, record

    # -- messages and result ----------------------------------------------------------------------------

    def _emit(self, role: Role, content: list[dict[str, Any]], **fields: Any) -> None:
        message = TranscriptMessage(
            seq=self.transcript[-1].seq + 1 if self.transcript else 1,
            role=role,
            content=content,
            created_at=datetime.now(UTC),
            **fields,
        )
        self.on_message(message)
        self.transcript.append(message)
        self.new_messages += 1

    def _finish(
        self, outcome: AgentOutcome, *, final_text: str | None = None, error: str | None = None
    ) -> AgentResult:
        logger.info(
            "agent loop stopped",
            extra={
                "outcome": outcome,
                "provider": self.provider.name,
                "turns": self.state.turns,
                "new_messages": self.new_messages,
                "tool_calls": len(self.records),
            },
        )
        return AgentResult(
            outcome=outcome,
            provider=self.provider.name,
            model=self.options.model,
            final_text=final_text,
            state=self.state,
            new_messages=self.new_messages,
            tool_calls=self.records,
            cost_note=self.cost_note,
            error=error,
        )
