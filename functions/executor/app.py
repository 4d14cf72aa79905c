"""The executor function: the BeginSlot, WaitForTurn and CheckTurn (a scheduled run started ahead of its
slot), Prepare, RunAgent, AwaitApproval, ApprovalTimedOut, Finalize and MarkFailed steps of an execution.

Event (from the state machine): {"step": "begin_slot" | "await_turn" | "check_turn" | "prepare" |
"run_agent" | "await_approval" | "approval_timed_out" | "finalize" | "mark_failed", "execution_id": "...",
"error"?: {"Error", "Cause"}, "state"?: {...}, "approval_id"?: "...", "task_token"?: "..."}, parsed
as `StepEvent`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_tasks.agent import isolation, snapshot
from agent_tasks.models.events import StepEvent
from agent_tasks.observability import execution_log_keys, logger, metrics, tracer
from agent_tasks.services import workflow
from agent_tasks.settings import get_settings

# A missing required setting fails the cold start, naming the variable (not the first call).
get_settings()

try:  # Lambda's managed Python runtimes ship it; tests and the local cloud take no snapshot
    from snapshot_restore_py import register_before_snapshot
except ImportError:
    pass
else:
    register_before_snapshot(snapshot.before_snapshot)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=StepEvent)
def lambda_handler(event: StepEvent, context: LambdaContext) -> dict[str, Any]:
    tracer.put_annotation("execution_id", event.execution_id)
    # Whatever an earlier invocation (maybe another user's) left in this environment goes first.
    isolation.clean_leftovers()
    with execution_log_keys(execution_id=event.execution_id, step=event.step):
        call = workflow.StepCall(
            execution_id=event.execution_id,
            error=event.error,
            state=event.state,
            remaining_millis=context.get_remaining_time_in_millis(),
            approval_id=event.approval_id,
            task_token=event.task_token,
        )
        return workflow.STEPS[event.step](call)
