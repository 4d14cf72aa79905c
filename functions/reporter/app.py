"""The reporter function: the Report step renders an execution's report to S3.

Event (from the state machine): {"execution_id": "..."}, parsed as `ReportEvent`; answers
{"report_id": "..." | null}.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_tasks.models.events import ReportEvent
from agent_tasks.observability import execution_log_keys, logger, metrics, tracer
from agent_tasks.services.reports import generate
from agent_tasks.settings import get_settings

# A missing required setting fails the cold start, naming the variable (not the first call).
get_settings()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ReportEvent)
def lambda_handler(event: ReportEvent, context: LambdaContext) -> dict[str, Any]:
    tracer.put_annotation("execution_id", event.execution_id)
    with execution_log_keys(execution_id=event.execution_id, step="report"):
        return generate(event.execution_id)
