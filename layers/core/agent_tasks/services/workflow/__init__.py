"""The executor's steps of an execution's workflow: begin_slot, await_turn and check_turn (a scheduled
run started ahead of its slot, at the slot's time, and queued there: services/slot_time.py), prepare,
run_agent (await_approval and approval_timed_out while a tool call waits for a person), finalize,
mark_failed.

Each step reads the execution, does its part and changes the status only from the status it
expects, so a retried step, a cancel in between or a reconciler racing it never loses or doubles
a transition. A cancelled execution is never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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
    approval_id: str | None = None
    task_token: str | None = field(default=None, repr=False)


def _await_approval(call: StepCall) -> dict[str, Any]:
    from agent_tasks.services import approvals

    if not call.approval_id or not call.task_token:
        raise ValueError("await_approval needs approval_id and task_token")
    return approvals.await_approval(call.execution_id, call.approval_id, call.task_token)


def _approval_timed_out(call: StepCall) -> dict[str, Any]:
    from agent_tasks.services import approvals

    return approvals.time_out(call.execution_id, call.approval_id)


def _begin_slot(call: StepCall) -> dict[str, Any]:
    from agent_tasks.services import slot_time

    return slot_time.begin_slot(call.execution_id)


def _await_turn(call: StepCall) -> dict[str, Any]:
    from agent_tasks.services import slot_time

    if not call.task_token:
        raise ValueError("await_turn needs task_token")
    return slot_time.await_turn(call.execution_id, call.task_token)


def _check_turn(call: StepCall) -> dict[str, Any]:
    from agent_tasks.services import slot_time

    return slot_time.check_turn(call.execution_id)


STEPS: dict[str, Callable[[StepCall], dict[str, Any]]] = {
    "begin_slot": _begin_slot,
    "await_turn": _await_turn,
    "check_turn": _check_turn,
    "prepare": lambda call: prepare(call.execution_id),
    "run_agent": lambda call: run_agent(call.execution_id, remaining_millis=call.remaining_millis),
    "await_approval": _await_approval,
    "approval_timed_out": _approval_timed_out,
    "finalize": lambda call: finalize(call.execution_id, call.state),
    "mark_failed": lambda call: mark_failed(call.execution_id, call.error),
}
