"""The executor's steps of an execution's workflow: prepare, run_agent, finalize, mark_failed.

Each step reads the execution, does its part and changes the status only from the status it
expects, so a retried step, a cancel in between or a reconciler racing it never loses or doubles
a transition. A cancelled execution is never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent_tasks.services.workflow.errors import AgentRunFailed, ExecutionMissing, TransientModelError
from agent_tasks.services.workflow.finishing import finalize, mark_failed
from agent_tasks.services.workflow.preparing import prepare
from agent_tasks.services.workflow.running import run_agent

__all__ = [
    "STEPS",
    "AgentRunFailed",
    "ExecutionMissing",
    "StepCall",
    "TransientModelError",
    "finalize",
    "mark_failed",
    "prepare",
    "run_agent",
]


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
