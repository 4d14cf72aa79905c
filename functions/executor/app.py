"""The executor function: the Prepare, RunAgent, Finalize and MarkFailed steps of an execution.

Event (from the state machine): {"step": "prepare" | "run_agent" | "finalize" | "mark_failed",
"execution_id": "...", "error"?: {"Error", "Cause"}, "state"?: {...}}.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_tasks.agent import isolation, snapshot
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
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = event.get("step")
    execution_id = event.get("execution_id")
    if not isinstance(execution_id, str) or step not in workflow.STEPS:
        raise ValueError(f"unknown step {step!r} or missing execution_id")
    tracer.put_annotation("execution_id", execution_id)
    # Whatever an earlier invocation (maybe another user's) left in this environment goes first.
    isolation.clean_leftovers()
    with execution_log_keys(execution_id=execution_id, step=str(step)):
        return _run_step(str(step), execution_id, event, context)


def _run_step(step: str, execution_id: str, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if step == "run_agent":
        return workflow.run_agent(execution_id, remaining_millis=context.get_remaining_time_in_millis())
    if step == "finalize":
        state = event.get("state")
        return workflow.finalize(execution_id, state if isinstance(state, dict) else None)
    if step == "mark_failed":
        error = event.get("error")
        return workflow.mark_failed(execution_id, error if isinstance(error, dict) else None)
    return workflow.prepare(execution_id)
