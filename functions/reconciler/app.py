"""The reconciler function: Step Functions status changes (aborted, timed out, failed) end executions.

Event: the EventBridge "Step Functions Execution Status Change" event.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_tasks.observability import logger
from agent_tasks.services.reconcile import reconcile


@logger.inject_lambda_context
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    return reconcile(dict(event.detail))
