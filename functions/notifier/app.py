"""The notifier function: the service bus's rule invokes it (asynchronously) with each execution end
and task event; it delivers what the event's task asked for (webhook, Slack, SNS) and records it.

A delivery that may pass later fails the invocation (`DeliveryFailed`), so Lambda retries it with
the same event (its retry policy in template.yaml); after the last attempt the event goes to the
notifier's dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_tasks.models.events import BusEvent
from agent_tasks.observability import execution_log_keys, logger, metrics, tracer
from agent_tasks.services.notifier import handle
from agent_tasks.settings import get_settings

# A missing required setting fails the cold start, naming the variable (not the first call).
get_settings()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=BusEvent)
def lambda_handler(event: BusEvent, context: LambdaContext) -> dict[str, Any]:
    detail = event.detail
    with execution_log_keys(
        execution_id=detail.get("execution_id"), task_id=detail.get("task_id"), step="notify"
    ):
        made = handle(event.detail_type, detail)
    return {"deliveries": [{"destination": d.destination, "status": d.status} for d in made]}
