"""The reconciler function: Step Functions status changes (aborted, timed out, failed) end executions.

Event: the EventBridge "Step Functions Execution Status Change" event, parsed as
`WorkflowStatusEvent`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_tasks.models.events import WorkflowStatusEvent
from agent_tasks.observability import execution_log_keys, logger, metrics, tracer
from agent_tasks.services.reconcile import reconcile
from agent_tasks.settings import get_settings

# A missing required setting fails the cold start, naming the variable (not the first call).
get_settings()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=WorkflowStatusEvent)
def lambda_handler(event: WorkflowStatusEvent, context: LambdaContext) -> dict[str, Any]:
    # The execution id is the workflow's name; `reconcile` adds task and owner once it reads it.
    with execution_log_keys(execution_id=event.detail.name, step="reconcile"):
        return reconcile(event.detail.model_dump())
