"""The notifier: a subscriber to the service's bus that delivers what a task asked to hear.

An execution's end and the task events (ApprovalRequested, SchedulePaused, ModelRetiring,
BudgetReached) are put on the bus by whoever caused them; nothing on those paths waits on a
webhook or a topic. The bus's rule invokes the notifier (asynchronously) with each one; `handle`
loads the task, decides (`on`, `only_if`), delivers (the signed JSON event or a Slack message to
the webhook; the JSON event to the SNS topic) and records each attempt beside the execution.

Each invocation makes one attempt per destination (notify/webhook.py retries nothing itself). A
delivery that failed and may pass later raises `DeliveryFailed` once every destination was tried:
Lambda invokes the notifier again with the same event (the same event id, so receivers drop
repeats), up to its retry policy (template.yaml: 2 retries, so 3 attempts), then sends the event to
the dead-letter queue. Each attempt is claimed by its number before it is made and recorded after
(store/deliveries.py): a destination that has the event is not sent it again, and two invocations
of one event never make the same attempt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from agent_tasks import adapters
from agent_tasks.models.common import utc_now
from agent_tasks.models.notifications import (
    ON_BY_DETAIL_TYPE,
    Delivery,
    DeliveryDestination,
    NotificationConfig,
)
from agent_tasks.models.tasks import Task
from agent_tasks.notify import conditions, slack, sns
from agent_tasks.notify.events import NotificationEvent, TaskEvent
from agent_tasks.observability import logger
from agent_tasks.settings import get_settings
from agent_tasks.store import deliveries as delivery_store
from agent_tasks.store import tasks as task_store


class DeliveryFailed(Exception):
    """A delivery failed in a way a later attempt may fix: the invocation fails so Lambda retries it."""


Event = NotificationEvent | TaskEvent


def _event(detail_type: str, detail: dict[str, Any]) -> Event | None:
    if not detail.get("task_id"):
        # e.g. a BudgetReached found outside any task's run: there is no task config to ask
        logger.info("notifier: an event about no task", extra={"detail_type": detail_type})
        return None
    try:
        if detail_type.startswith("Execution"):
            return NotificationEvent.model_validate(detail)
        return TaskEvent.of(detail_type, detail)
    except (ValidationError, KeyError, TypeError) as error:
        logger.warning(
            "notifier: an event it cannot read", extra={"detail_type": detail_type, "error": str(error)}
        )
        return None


def _wanted(detail_type: str, event: Event) -> tuple[Task, NotificationConfig] | None:
    """The task and its config when it asks for this event (and the event is about its owner's task)."""
    on = ON_BY_DETAIL_TYPE[detail_type]
    task = task_store.get(event.task_id)
    if task is None or task.is_deleted or task.notification_config is None:
        return None
    if event.owner_id is not None and event.owner_id != task.owner_id:
        logger.warning("notifier: event and task owners differ", extra={"task_id": task.id})
        return None
    config = task.notification_config
    return (task, config) if config.wants(on) else None


def _links(event: NotificationEvent) -> slack.Links:
    base = get_settings().api_base_url.rstrip("/")
    if not base:
        return slack.Links()
    report = f"{base}/api/v1/reports/{event.report_id}" if event.report_id else None
    return slack.Links(execution=f"{base}/api/v1/task-executions/{event.execution_id}", report=report)


def _webhook_body(event: Event, config: NotificationConfig) -> Any:
    if config.format != "slack":
        return event
    if isinstance(event, NotificationEvent):
        return slack.for_execution(event, _links(event))
    return slack.for_task_event(event)


def _status_of(event: Event) -> str | None:
    if isinstance(event, NotificationEvent):
        return event.status
    status = event.detail.get("status") or event.detail.get("level")
    return str(status) if status is not None else None


class _Recorder:
    """Attempts and outcomes of one event, beside its execution (logged when it has none)."""

    def __init__(self, event: Event) -> None:
        self.event = event
        self.execution_id = event.execution_id
        self.expires_at = delivery_store.execution_expiry(self.execution_id) if self.execution_id else None

    def claim(self, destination: DeliveryDestination, now: datetime) -> int | None:
        """The number of the attempt this invocation makes to `destination`, claimed; None when it must
        not send: the destination has the event (a retry or a duplicate of it), or another invocation
        holds the attempt (DynamoDB refused the claim). Exact, whatever the execution's history holds."""
        if not self.execution_id:
            return 1  # nothing to record on: each invocation is its own first attempt
        earlier = delivery_store.progress(self.execution_id, self.event.event_id, destination)
        if earlier is not None and earlier.done:
            return None
        attempt = (earlier.attempts if earlier is not None else 0) + 1
        claimed = delivery_store.claim(
            self.execution_id,
            self.event.event_id,
            destination,
            attempt,
            now_epoch=int(now.timestamp()),
            expires_at=self.expires_at,
        )
        if not claimed:
            logger.info(
                "notifier: the attempt is another invocation's, or the event was delivered",
                extra={"event_id": self.event.event_id, "destination": destination, "attempt": attempt},
            )
            return None
        return attempt

    def record(self, delivery: Delivery) -> Delivery:
        log = logger.info if delivery.status != "failed" else logger.warning
        log(
            f"notification {delivery.status}",
            extra={
                "event_id": delivery.event_id,
                "event_type": delivery.event_type,
                "destination": delivery.destination,
                "target": delivery.target,
                "attempt": delivery.attempt,
                "error": delivery.error,
                "task_id": self.event.task_id,
                "execution_id": self.execution_id,
            },
        )
        if self.execution_id:
            delivery_store.record(self.execution_id, delivery, expires_at=self.expires_at)
        return delivery


def handle(detail_type: str, detail: dict[str, Any], *, now: datetime | None = None) -> list[Delivery]:
    """Deliver one bus event to the destinations its task asked for; the attempts made (recorded).

    Raises DeliveryFailed, after trying every destination, when one failed and may pass later."""
    if detail_type not in ON_BY_DETAIL_TYPE:
        logger.info("notifier: not an event it delivers", extra={"detail_type": detail_type})
        return []
    event = _event(detail_type, detail)
    if event is None:
        return []
    wanted = _wanted(detail_type, event)
    if wanted is None:
        return []
    task, config = wanted
    recorder = _Recorder(event)
    made: list[Delivery] = []
    destinations: list[tuple[DeliveryDestination, str]] = []
    if config.webhook_url is not None:
        destinations.append(("slack" if config.format == "slack" else "webhook", str(config.webhook_url)))
    if config.sns_topic_arn is not None:
        destinations.append(("sns", config.sns_topic_arn))
    body = event.model_dump(mode="json")
    go, why_not = conditions.holds(config.only_if, body)
    for destination, target in destinations:
        attempt = recorder.claim(destination, now or utc_now())
        if attempt is None:
            continue  # that destination has the event, or another invocation is sending it
        shown = _host(target) if destination != "sns" else target
        base = {
            "event_id": event.event_id,
            "event_type": detail_type,
            "destination": destination,
            "target": shown,
            "attempt": attempt,
        }
        if not go:
            made.append(
                recorder.record(Delivery(**base, status="skipped", error=why_not, at=now or utc_now()))
            )
            continue
        if destination == "sns":
            made.append(recorder.record(_publish(event, target, base, now)))
        else:
            made.append(recorder.record(_post(event, config, task, target, base, now)))
    retry = [d for d in made if d.status == "failed" and d.retryable]
    if retry:
        raise DeliveryFailed(
            "; ".join(f"{d.destination} {d.target}: {d.error}" for d in retry)
            + f" (event {event.event_id}, attempt {max(d.attempt for d in retry)})"
        )
    return made


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or "?"


def _post(
    event: Event, config: NotificationConfig, task: Task, url: str, base: dict[str, Any], now: datetime | None
) -> Delivery:
    if config.format == "json" and not task.webhook_secret:
        return Delivery(**base, status="failed", error="the task has no webhook secret", at=now or utc_now())
    from agent_tasks.notify.webhook import deliver_webhook

    outcome = deliver_webhook(
        url,
        _webhook_body(event, config),
        task.webhook_secret or "",
        attempt=int(base["attempt"]),
        allow_private=get_settings().allow_private_network,
    )
    return Delivery(
        **base,
        status=outcome.status,
        status_code=outcome.last_status_code,
        error=outcome.last_error,
        retryable=outcome.retryable,
        at=now or outcome.finished_at,
    )


def _publish(event: Event, topic_arn: str, base: dict[str, Any], now: datetime | None) -> Delivery:
    request = sns.publish_request(
        topic_arn=topic_arn,
        message=event.model_dump_json(),
        event_type=event.type,
        event_id=event.event_id,
        task_id=event.task_id,
        status=_status_of(event),
    )
    outcome = adapters.topics().publish(request)
    return Delivery(
        **base,
        status="delivered" if outcome.delivered else "failed",
        error=outcome.detail,
        retryable=outcome.retryable,
        at=now or utc_now(),
    )
