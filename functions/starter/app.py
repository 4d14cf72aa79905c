"""The starter function: takes batches of claimed schedule slots off the start queue and starts them.

Event: an SQS batch (the event source's batch size) of claimed slots and (for a backfill)
pending executions to start (services/slot_starts.py). They start in parallel; the
answer is a partial batch response, so only the messages that failed (a start still throttled
when time ran short, an error, a body that is not a slot) come back, and after the queue's
maxReceiveCount they go to its dead-letter queue, their slots still claimed for a later tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import SQSEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from agent_tasks.models.common import utc_now
from agent_tasks.observability import logger, metrics, tracer
from agent_tasks.parallel import map_in_context
from agent_tasks.services.executions import StartThrottled
from agent_tasks.services.slot_starts import StartMessage, start_message

# Replaceable in tests; the handler never reads the wall clock or sleeps any other way.
clock: Callable[[], datetime] = utc_now
sleep: Callable[[float], None] = time.sleep
# Seconds kept in hand when backing off, so the answer goes out before the function's timeout.
_MARGIN_SECONDS = 5.0


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = list(SQSEvent(event).records)

    def time_left() -> float:
        return context.get_remaining_time_in_millis() / 1000 - _MARGIN_SECONDS

    def handle(record: SQSRecord) -> str:
        """What became of the record: an outcome of start_slot, or `throttled`/`failed` (it comes back)."""
        try:
            message = StartMessage.validate_json(record.body)
        except ValidationError as error:
            logger.error("not a slot start message", extra={"errors": error.errors(include_input=False)})
            return "failed"
        try:
            outcome: str = start_message(message, clock(), time_left=time_left, sleep=sleep)
        except StartThrottled:
            return "throttled"
        except Exception:  # noqa: BLE001 - one slot's failure must not fail the others of the batch
            logger.exception("starting a slot failed", extra={"start": record.body[:200]})
            return "failed"
        return outcome

    outcomes = map_in_context(handle, records, workers=len(records), name="start")
    failed = [r.message_id for r, o in zip(records, outcomes, strict=True) if o in ("throttled", "failed")]
    logger.info("start batch", extra={"outcomes": outcomes})
    metrics.add_metric(name="StarterSlots", unit=MetricUnit.Count, value=len(records))
    metrics.add_metric(name="StarterThrottled", unit=MetricUnit.Count, value=outcomes.count("throttled"))
    metrics.add_metric(name="StarterFailed", unit=MetricUnit.Count, value=len(failed))
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
