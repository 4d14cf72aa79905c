"""The agent loop: call the model, run the tools it asks for, feed the results back, until done.

Resumable: every message is handed to `on_message` as soon as it exists, and a later call
given the stored transcript goes on exactly where the last stopped. A turn is never half
written: an assistant message is stored whole, and the results of all its tool calls are
stored together in the next user message (if an invocation ends between the two, the next
one runs those tools first).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent_tasks.agent import catalog, model_catalog, structured
from agent_tasks.agent.definitions import api_messages, mcp_server_definitions, tool_definitions
from agent_tasks.agent.model_api import (
    MAX_REQUEST_TIMEOUT_SECONDS,
    ModelCallError,
    ModelProvider,
    ModelRequest,
)
from agent_tasks.agent.model_catalog import ModelCatalogue, ModelEntry
from agent_tasks.agent.model_ids import base_model_id
from agent_tasks.agent.permissions import ToolPolicy, resolve_policy
from agent_tasks.agent.pricing import PriceTable, cost_usd, price_table
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
    ModelUsage,
    PendingToolCall,
    Role,
    ToolCallDecision,
    ToolCallRecord,
    TranscriptMessage,
    tool_use_id_problem,
)
from agent_tasks.observability import logger, subsegment
from agent_tasks.scrub import NO_SECRETS, Scrubber
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
# After the SDK's retries: the model is overloaded (529), unavailable (503) or gone (404).
FALLBACK_STATUSES = frozenset({404, 503, 529})


def _text_of(message: TranscriptMessage) -> str:
    return "".join(block.get("text", "") for block in message.content if block.get("type") == "text")


def _pending_tool_uses(message: TranscriptMessage) -> list[dict[str, Any]]:
    return [block for block in message.content if block.get("type") == "tool_use"]


def _is_tool_call(block: dict[str, Any]) -> bool:
    """tool_use, and the API's own server_tool_use and mcp_tool_use."""
    return str(block.get("type", "")).endswith("tool_use")


def _reply_problem(content: list[dict[str, Any]]) -> str | None:
    """Why a model reply cannot be acted on or kept as it is (None when it can): a tool call whose id
    is not the API's shape would be stored, keyed on (approvals) and sent back (where the API refuses
    it), so the run ends before any of the reply's calls runs."""
    seen: set[str] = set()
    for block in content:
        if _is_tool_call(block):
            problem = tool_use_id_problem(block.get("id"))
            if problem is None and block["id"] in seen:
                problem = f"two of its tool calls have the id {block['id']!r}"
            if problem is not None:
                return f"the model's reply was refused: {problem}; none of its tool calls was run"
            seen.add(block["id"])
    return None


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
    output_schema: dict[str, Any] | None = None,
    catalogue: ModelCatalogue | None = None,
    prices: PriceTable | None = None,
    secrets: Mapping[str, str] | None = None,
    scrubber: Scrubber | None = None,
    spend_cap_reached: Callable[[], bool] = lambda: False,
    approval_tools: frozenset[str] = frozenset(),
    decisions: Mapping[str, ToolCallDecision] | None = None,
) -> AgentResult:
    """Run (or resume) the loop until the model ends its turn, a limit is hit, or time runs short.

    `state` is not modified: the returned result carries the updated counters. `secrets` go to the
    tools only; `scrubber` cleans every tool result before it is stored or sent to the model.
    `spend_cap_reached` is asked before each model call: the owner's spend cap stops the run as its
    own `max_budget_usd` does (outcome `budget_exceeded`).

    A call to one of `approval_tools` (canonical names) runs only once `decisions` (by tool_use_id)
    holds a person's decision on it: until then the loop stops with outcome `waiting` and the call in
    `approval_request`, before running any tool of that turn (so none runs twice). The calls of one
    turn are asked one at a time; a denied call gets a tool error carrying the reason.
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
            workdir=workdir,
            deadline=deadline,
            allow_private_network=settings.allow_private_network,
            secrets=secrets or {},
            scrubber=scrubber or NO_SECRETS,
        ),
        on_message=on_message,
        deadline=deadline,
        should_cancel=should_cancel,
        provider=provider or select_provider(settings),
        registry=tool_registry if tool_registry is not None else LOCAL_TOOL_IMPLEMENTATIONS,
        limits=limits or LoopLimits(),
        output_schema=output_schema,
        catalogue=catalogue or model_catalog.current(),
        prices=prices or price_table(),
        spend_cap_reached=spend_cap_reached,
        approval_tools=approval_tools,
        decisions=decisions or {},
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
        output_schema: dict[str, Any] | None,
        catalogue: ModelCatalogue,
        prices: PriceTable,
        spend_cap_reached: Callable[[], bool] = lambda: False,
        approval_tools: frozenset[str] = frozenset(),
        decisions: Mapping[str, ToolCallDecision] | None = None,
    ) -> None:
        self.spend_cap_reached = spend_cap_reached
        self.approval_tools = approval_tools
        self.decisions = decisions or {}
        self.limits = limits
        self.output_schema = output_schema
        self.catalogue = catalogue
        self.prices = prices
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
        self.structured_output: Any = None
        self.state.price_table_version = prices.version
        self.model = self.state.active_model or options.model

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
                    held = self._held_call(pending, last)
                    if held is not None:
                        return self._finish("waiting", approval_request=held)
                    if self.deadline() < self.limits.min_tool_seconds + self.limits.safety_margin_seconds:
                        return self._finish("continue")
                    self._run_tools(pending)
                    continue
                if last.stop_reason == "refusal":
                    return self._finish(
                        "error", error="the model declined to continue (stop_reason: refusal)"
                    )
                if last.stop_reason != "pause_turn":
                    if self.output_schema is not None and not self._structured_answer(last):
                        if self.state.structured_output_repairs > 1:
                            return self._finish("error", error=self._invalid_answer_error)
                        continue  # the repair request was just added
                    return self._finish("completed", final_text=_text_of(last))
            stop = self._limit_reached()
            if stop is not None:
                return self._finish(stop)
            unpriced = self._unpriced_budget()
            if unpriced is not None:
                return self._finish("error", error=unpriced)
            try:
                refused = self._call_model()
            except ModelCallError as err:
                if err.timed_out and self.deadline() < self._call_reserve():
                    return self._finish("continue")
                logger.warning(
                    "model call failed",
                    extra={"status": err.status, "provider": self.provider.name, "model": self.model},
                )
                if self._fall_back(err):
                    continue
                return self._finish("error", error=err.message)
            if refused is not None:
                return self._finish("error", error=refused)

    def _limit_reached(self) -> AgentOutcome | None:
        """Checked before every model call, after any pending tools ran (so pairs stay intact)."""
        if self.should_cancel():
            return "cancelled"
        if self.state.turns >= self.options.max_turns and not self._repairing():
            return "max_turns"
        budget = self.options.max_budget_usd
        if budget is not None and self.state.cost_usd is not None and self.state.cost_usd >= budget:
            return "budget_exceeded"
        if self.spend_cap_reached():
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

    def _entry(self) -> ModelEntry | None:
        return self.catalogue.get(self.model)

    def _request_options(self) -> tuple[str | None, float | None, dict[str, Any] | None]:
        """System prompt, temperature and output_config for the model now answering, as it accepts them."""
        entry = self._entry()
        caps = entry.capabilities if entry is not None else None
        system = self.options.system_prompt
        temperature = self.options.temperature
        if caps is not None and not caps.temperature and temperature is not None and temperature != 1.0:
            temperature = None  # e.g. a fallback model that refuses it: its default rather than a 400
        output_config: dict[str, Any] = {}
        if self.options.effort is not None and caps is not None and self.options.effort in caps.effort:
            output_config["effort"] = self.options.effort
        if self.output_schema is not None:
            if caps is not None and caps.structured_outputs:
                output_config["format"] = {"type": "json_schema", "schema": self.output_schema}
            else:
                instruction = structured.final_answer_instruction(self.output_schema)
                system = f"{system}\n\n{instruction}" if system else instruction
        return system, temperature, output_config or None

    def _call_model(self) -> str | None:
        """One model call, its reply stored; why the reply was refused (see _reply_problem), or None."""
        system, temperature, output_config = self._request_options()
        request = ModelRequest(
            model=self.model,
            messages=api_messages(self.transcript, self.model),
            max_tokens=self.options.max_tokens,
            system=system,
            tools=self.tools,
            temperature=temperature,
            mcp_servers=self.mcp_servers,
            timeout_seconds=min(
                MAX_REQUEST_TIMEOUT_SECONDS, self.deadline() - self.limits.safety_margin_seconds
            ),
            output_config=output_config,
        )
        started = time.monotonic()
        with subsegment("## model call", provider=self.provider.name, model=self.model) as segment:
            response = self.provider.create_message(request)
            segment.put_metadata("usage", response.usage.model_dump(), "agent_tasks")
        self.longest_call = max(self.longest_call, time.monotonic() - started)
        self.state.turns += 1
        self.state.usage = self.state.usage + response.usage
        cost = self._add_cost(response.model, response.usage)
        refused = _reply_problem(response.content)
        content = response.content
        if refused is not None:
            # Kept without its tool calls (the call's usage and cost still count), saying why.
            logger.warning("model reply refused", extra={"model": response.model, "problem": refused})
            content = [block for block in content if not _is_tool_call(block)]
            content.append({"type": "text", "text": f"[{refused}]"})
        self._emit(
            "assistant",
            content,
            usage=response.usage,
            cost_usd=cost,
            model=response.model,
            stop_reason=response.stop_reason,
        )
        return refused

    def _add_cost(self, answered_by: str, usage: Any) -> float | None:
        """Add one call's usage and cost to the run's; the call's cost (None: scripted or unpriced)."""
        key = base_model_id(self.model)
        per_model = self.state.model_usage.setdefault(key, ModelUsage())
        per_model.turns += 1
        per_model.usage = per_model.usage + usage
        if self.provider.name == "scripted":
            return None
        cost = cost_usd(answered_by, usage, self.prices)
        if cost is None:
            cost = cost_usd(self.model, usage, self.prices)
        if cost is None:
            self.state.cost_usd = None
            per_model.cost_usd = None
        else:
            if self.state.cost_usd is not None:
                self.state.cost_usd = round(self.state.cost_usd + cost, 8)
            if per_model.cost_usd is not None:
                per_model.cost_usd = round(per_model.cost_usd + cost, 8)
        if self.state.cost_usd is None:
            self.cost_note = f"no price is known for model {self.model!r}, so the cost is not reported"
            if self.options.max_budget_usd is not None:
                self.cost_note += "; max_budget_usd cannot be enforced"
        return cost

    def _unpriced_budget(self) -> str | None:
        """A budget is never silently off: no call to a model the price table cannot price."""
        if self.options.max_budget_usd is None or self.provider.name == "scripted":
            return None
        if self.prices.entry(self.model) is not None:
            return None
        return (
            f"max_budget_usd is set but model {self.model!r} has no price in price table "
            f"{self.prices.version}, so the budget could not be enforced; the run stopped before calling it"
        )

    def _fall_back(self, err: ModelCallError) -> bool:
        """Switch to the fallback model when the current one is overloaded or unavailable."""
        fallback = self.options.fallback_model
        if fallback is None or err.status not in FALLBACK_STATUSES:
            return False
        if base_model_id(fallback) == base_model_id(self.model):
            return False
        logger.warning(
            "model unavailable, continuing on the fallback model",
            extra={"model": self.model, "fallback_model": fallback, "status": err.status},
        )
        self.model = fallback
        self.state.active_model = fallback
        return True

    # -- structured output ------------------------------------------------------------------------------

    _invalid_answer_error = ""

    def _repairing(self) -> bool:
        """The last message is the one repair request, whose answer max_turns does not cut off."""
        last = self.transcript[-1] if self.transcript else None
        return bool(
            last is not None
            and last.role == "user"
            and self.state.structured_output_repairs == 1
            and _text_of(last).startswith(structured.REPAIR_PREFIX)
        )

    def _structured_answer(self, last: TranscriptMessage) -> bool:
        """Validate the final answer; on the first failure ask once for a repair. True when it is valid."""
        assert self.output_schema is not None
        value, errors = structured.answer_errors(_text_of(last), self.output_schema)
        if not errors:
            self.structured_output = value
            return True
        if self.state.structured_output_repairs == 0:
            self.state.structured_output_repairs = 1
            self._emit("user", [{"type": "text", "text": structured.repair_request(errors)}])
            return False
        self.state.structured_output_repairs = 2
        self._invalid_answer_error = "the final answer does not validate against output_schema: " + "; ".join(
            errors
        )
        return False

    # -- tools ------------------------------------------------------------------------------------------

    def _needs_approval(self, call: dict[str, Any]) -> bool:
        """A call the task may make, to a tool whose calls wait for a person."""
        name = call.get("name")
        canonical = catalog.canonical_name(name) if isinstance(name, str) else None
        return (
            canonical is not None
            and canonical in self.approval_tools
            and self.policy.denial_reason(str(name)) is None
            and canonical in self.registry
        )

    def _held_call(self, calls: list[dict[str, Any]], message: TranscriptMessage) -> PendingToolCall | None:
        """The first call of the turn still waiting for a decision (asked one at a time), if any."""
        for call in calls:
            if self._needs_approval(call) and str(call.get("id", "")) not in self.decisions:
                return PendingToolCall(
                    tool_use_id=str(call.get("id", "")),
                    tool=catalog.canonical_name(str(call.get("name"))) or str(call.get("name")),
                    input=call.get("input"),
                    text=_text_of(message) or None,
                )
        return None

    def _approvals_of(self, calls: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """The decisions applied to this turn's calls, for the transcript (None when none waited)."""
        applied = []
        for call in calls:
            decision = self.decisions.get(str(call.get("id", "")))
            if decision is not None and self._needs_approval(call):
                applied.append(
                    {
                        "tool_use_id": str(call.get("id", "")),
                        "tool": str(call.get("name")),
                        **decision.model_dump(),
                    }
                )
        return applied or None

    def _denied_by_person(self, call: dict[str, Any]) -> str | None:
        """The tool error for a call a person denied (or that timed out as denied); None to run it."""
        if not self._needs_approval(call):
            return None
        decision = self.decisions.get(str(call.get("id", "")))
        if decision is None or decision.decision == "approve":
            return None
        if decision.timed_out:
            return "permission denied: no one approved this call in time, so it was not run"
        reason = f": {decision.reason}" if decision.reason else ""
        return f"permission denied by a person reviewing this call{reason}"

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
        self._emit("user", results, approvals=self._approvals_of(calls))

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
        elif denial is not None or (denial := self._denied_by_person(call)) is not None:
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
        self,
        outcome: AgentOutcome,
        *,
        final_text: str | None = None,
        error: str | None = None,
        approval_request: PendingToolCall | None = None,
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
            model=self.model,
            structured_output=self.structured_output,
            final_text=final_text,
            state=self.state,
            new_messages=self.new_messages,
            tool_calls=self.records,
            cost_note=self.cost_note,
            error=error,
            approval_request=approval_request,
        )
