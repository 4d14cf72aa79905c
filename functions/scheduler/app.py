"""The scheduler function: fired every minute by one EventBridge rule, starts the due scheduled tasks.

Event: the EventBridge "Scheduled Event" (`time`, and the rule's ARN in `resources[0]`), parsed as
`ScheduledEvent`.
The tick's clock is the current time, never earlier than the event's own time (a late or
retried delivery still sees every slot up to now; a clock slightly behind EventBridge's does
not miss the slot the event was fired for).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_tasks.models.common import utc_now
from agent_tasks.models.events import ScheduledEvent
from agent_tasks.observability import logger, metrics, tracer
from agent_tasks.schedules.quotas import start_execution_quota
from agent_tasks.services.model_retirement import check_retiring_models
from agent_tasks.services.scheduler import SlotDispatcher, tick
from agent_tasks.services.slot_starts import QueueDispatcher
from agent_tasks.settings import get_settings

# A missing required setting fails the cold start, naming the variable (not the first call).
get_settings().require("state_machine_arn")

# Replaceable in tests; the handler never reads the wall clock any other way.
clock: Callable[[], datetime] = utc_now


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ScheduledEvent)
def lambda_handler(scheduled: ScheduledEvent, context: LambdaContext) -> dict[str, Any]:
    # Never behind the event (a clock slightly late), never more than a minute ahead of our own
    # (a replayed or hand-made event must not run every schedule up to its time).
    current = clock()
    now = max(current, min(scheduled.time, current + timedelta(minutes=1)))
    settings = get_settings()
    # Claimed slots go to the start queue (the starter function), claimed by parallel workers;
    # without a queue they start inline, one after another.
    dispatcher: SlotDispatcher | None = None
    workers = 1
    if settings.start_queue_url:
        # Each start is held in the queue until the region's StartExecution bucket has a token for it.
        quota = start_execution_quota(
            settings.aws_region,
            bucket_size=settings.start_quota_bucket,
            refill_per_second=settings.start_quota_refill_per_second,
        )
        dispatcher = QueueDispatcher(settings.start_queue_url, quota=quota)
        workers = settings.scheduler_claim_workers
    summary = tick(now, rule=scheduled.rule_name, dispatcher=dispatcher, workers=workers)
    result = {"now": now.replace(microsecond=0).isoformat(), "rule": scheduled.rule_name, **summary.as_dict()}
    try:
        retiring = check_retiring_models(now)  # the first tick of each UTC day only
    except Exception:  # noqa: BLE001 - the tick's starts are done; a failed check must not redo them
        logger.exception("retiring-model check failed")
        retiring = None
    if retiring is not None:
        result["retiring_model_tasks"] = retiring.tasks
    logger.info("scheduler tick", extra=result)
    metrics.add_metric(name="SchedulerDue", unit=MetricUnit.Count, value=summary.due)
    metrics.add_metric(name="SchedulerStarted", unit=MetricUnit.Count, value=summary.started)
    metrics.add_metric(name="SchedulerDispatched", unit=MetricUnit.Count, value=summary.dispatched)
    metrics.add_metric(
        name="SchedulerSkipped", unit=MetricUnit.Count, value=summary.skipped_overlap + summary.skipped_missed
    )
    metrics.add_metric(name="SchedulerPaused", unit=MetricUnit.Count, value=summary.paused)
    metrics.add_metric(name="SchedulerErrors", unit=MetricUnit.Count, value=summary.errors)
    return result
