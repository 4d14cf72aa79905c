"""Notifications when an execution ends: the task's `notification_config`, the event, signed webhooks.

A webhook is an HTTPS POST of a `NotificationEvent` as JSON, signed like this:

    X-AgentTasks-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}." + body)>
    X-AgentTasks-Event-Id: <event id>          (the same on every retry of one event)
    X-AgentTasks-Delivery-Attempt: <1, 2, ...>

A receiver checks it with `verify(secret, header, body)`. `deliver_webhook` retries network
errors, timeouts, 429 and 5xx with exponential backoff and jitter, and never raises for a
failed delivery: it returns a `DeliveryOutcome` to record on the execution.

Destinations are checked twice: when the config is validated (scheme, and hosts that are
plainly loopback/private, without DNS) and before every attempt (`agent_tasks.netguard`
resolves the name and the request goes to the checked address, so DNS rebinding has no gap).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
)

from agent_tasks import netguard
from agent_tasks.models.notifications import (
    ALLOW_PRIVATE_CONTEXT_KEY,
    EVENT_TYPE_BY_STATUS,
    DeliveryOutcome,
    NotificationConfig,
    NotificationEventType,
    NotifyOn,
    host_problem,
)
from agent_tasks.observability import logger

__all__ = [  # the shapes are re-exported: callers may keep importing them from here
    "ALLOW_PRIVATE_CONTEXT_KEY",
    "EVENT_TYPE_BY_STATUS",
    "DeliveryOutcome",
    "NotificationConfig",
    "NotificationEvent",
    "NotificationEventType",
    "NotifyOn",
    "deliver_webhook",
    "event_id_for",
    "eventbridge_entry",
    "host_problem",
    "new_webhook_secret",
    "sign",
    "signature_header",
    "sns_publish_request",
    "verify",
]

if TYPE_CHECKING:
    import httpx2

EVENT_SOURCE = "agent-tasks"
SIGNATURE_HEADER = "X-AgentTasks-Signature"
EVENT_ID_HEADER = "X-AgentTasks-Event-Id"
EVENT_TYPE_HEADER = "X-AgentTasks-Event-Type"
ATTEMPT_HEADER = "X-AgentTasks-Delivery-Attempt"
USER_AGENT = "AgentTasks-Webhook/1.0"
# Event ids are derived from (execution, status) so a repeated Finalize sends the same id.
_EVENT_ID_NAMESPACE = uuid.UUID("5b0f7f8e-4a5e-4c55-9d1b-6a2f3c0e9d41")


# --- configuration ---------------------------------------------------------------------------


def new_webhook_secret() -> str:
    """A fresh signing secret for a task's webhook (show it to the owner once, store it)."""
    return secrets.token_urlsafe(32)


# --- the event -------------------------------------------------------------------------------


def event_id_for(execution_id: str, status: NotifyOn) -> str:
    """The event id of an execution's end: the same every time, so receivers can drop repeats."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{execution_id}/{status}"))


class NotificationEvent(BaseModel):
    """An execution ended: the webhook body and the EventBridge event detail."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal["1.0"] = Field(default="1.0", description="Version of this event's shape.")
    event_id: str = Field(description="Stable id of this event; a retried delivery carries the same id.")
    type: NotificationEventType = Field(description="What happened.")
    occurred_at: datetime = Field(description="When the execution ended.")
    execution_id: str
    task_id: str
    task_name: str | None = None
    owner_id: str
    status: NotifyOn = Field(description="The execution's final status.")
    trigger_type: str | None = None
    message_count: NonNegativeInt = 0
    tool_call_count: NonNegativeInt = 0
    duration_seconds: float | None = Field(default=None, ge=0)
    cost_usd: float | None = Field(default=None, ge=0)
    error_message: str | None = None
    report_id: str | None = None
    structured_output: Any = Field(
        default=None, description="The final answer validated against the task's output_schema."
    )

    @classmethod
    def for_execution(
        cls,
        *,
        execution_id: str,
        task_id: str,
        owner_id: str,
        status: NotifyOn,
        occurred_at: datetime,
        **details: Any,
    ) -> NotificationEvent:
        """The event for an execution that ended with `status` (type and event id derived)."""
        return cls(
            event_id=event_id_for(execution_id, status),
            type=EVENT_TYPE_BY_STATUS[status],
            execution_id=execution_id,
            task_id=task_id,
            owner_id=owner_id,
            status=status,
            occurred_at=occurred_at,
            **details,
        )

    def body(self) -> bytes:
        """The exact bytes POSTed to a webhook (and signed)."""
        return self.model_dump_json().encode("utf-8")


def eventbridge_entry(event: NotificationEvent, *, bus_name: str) -> dict[str, str]:
    """One `Entries` item for EventBridge PutEvents."""
    return {
        "Source": EVENT_SOURCE,
        "DetailType": event.type,
        "Detail": event.model_dump_json(),
        "EventBusName": bus_name,
    }


def sns_publish_request(event: NotificationEvent, *, topic_arn: str) -> dict[str, Any]:
    """Keyword arguments for SNS Publish of `event` (subscribers can filter on `event_type`)."""
    request: dict[str, Any] = {
        "TopicArn": topic_arn,
        "Message": event.model_dump_json(),
        "MessageAttributes": {"event_type": {"DataType": "String", "StringValue": event.type}},
    }
    if topic_arn.endswith(".fifo"):
        request["MessageGroupId"] = event.task_id
        request["MessageDeduplicationId"] = event.event_id
    return request


# --- signing ---------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of `f"{timestamp}."` + body, keyed with the webhook secret."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> bool:
    """What a receiver runs: is `header` a valid, fresh signature of `body` under `secret`?

    `header` is the X-AgentTasks-Signature value; several `v1=` entries are accepted (any one
    matching is enough), so a sender can sign with an old and a new secret while rotating.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, timestamp, body)
    # bytes: compare_digest refuses non-ASCII str, and the header comes from outside
    return any(hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in candidates)


# --- delivery --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExponentialBackoff:
    """Delay before retry n (1-based): base·factor^(n-1), capped, "equal jitter"."""

    base_seconds: float = 0.5
    factor: float = 2.0
    max_seconds: float = 8.0
    random_fraction: Callable[[], float] = field(default=random.random, repr=False)

    def __call__(self, retry: int) -> float:
        ceiling = min(self.max_seconds, self.base_seconds * self.factor ** max(retry - 1, 0))
        return ceiling / 2 + ceiling / 2 * self.random_fraction()


@dataclass
class _Attempt:
    status_code: int | None = None
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None


def _retry_after_seconds(value: str | None) -> float | None:
    if value is not None and re.fullmatch(r"\d{1,6}", value.strip()):
        return float(value.strip())
    return None


def _send_once(
    client: httpx2.Client,
    checked: netguard.CheckedUrl,
    body: bytes,
    headers: dict[str, str],
) -> _Attempt:
    import httpx2

    # Connect to the address netguard checked, not to whatever the name resolves to next;
    # Host and TLS SNI (hence certificate checks) still use the name.
    url = httpx2.URL(checked.url)
    pinned = url.copy_with(host=str(checked.addresses[0]))
    host_header = checked.host if url.port is None else f"{checked.host}:{url.port}"
    extensions = {"sni_hostname": checked.host} if checked.scheme == "https" else {}
    try:
        with client.stream(
            "POST", pinned, content=body, headers={**headers, "Host": host_header}, extensions=extensions
        ) as response:
            code = response.status_code  # the body is never read: nothing in it matters to us
    except httpx2.TimeoutException as err:
        return _Attempt(error=f"timeout: {type(err).__name__}", retryable=True)
    except httpx2.TransportError as err:
        return _Attempt(error=f"network error: {type(err).__name__}: {err}", retryable=True)
    if 200 <= code < 300:
        return _Attempt(status_code=code)
    retryable = code == 429 or code >= 500
    retry_after = _retry_after_seconds(response.headers.get("Retry-After")) if retryable else None
    return _Attempt(status_code=code, error=f"HTTP {code}", retryable=retryable, retry_after=retry_after)


def deliver_webhook(
    url: str,
    event: NotificationEvent,
    secret: str,
    *,
    allow_private: bool = False,
    attempts: int = 3,
    backoff: Callable[[int], float] | None = None,
    timeout_seconds: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    transport: httpx2.BaseTransport | None = None,
) -> DeliveryOutcome:
    """POST `event` to `url`, signed with `secret`, retrying transient failures; never raises for a failure.

    Retried: network errors, timeouts, 429 and 5xx (a numeric Retry-After is honoured up to the
    backoff's cap). Not retried: other 4xx, 3xx (redirects are not followed) and refused
    destinations. `allow_private` admits loopback and private hosts (pass
    `settings.allow_private_network`; only local tests set it).
    """
    import httpx2

    delay_for = backoff if backoff is not None else ExponentialBackoff()
    cap = delay_for.max_seconds if isinstance(delay_for, ExponentialBackoff) else 30.0
    body = event.body()
    host = httpx2.URL(url).host
    sent = 0
    last = _Attempt()
    timeout = httpx2.Timeout(timeout_seconds, connect=min(timeout_seconds, 3.0))
    with httpx2.Client(
        transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
    ) as client:
        for attempt in range(1, max(attempts, 1) + 1):
            if attempt > 1:
                sleep(max(delay_for(attempt - 1), min(last.retry_after or 0.0, cap)))
            try:
                checked = netguard.ensure_public_url(url, allow_private=allow_private)
            except netguard.UnsafeUrlError as err:
                # A name that does not resolve may resolve later; a refused address will not change.
                last = _Attempt(
                    error=f"destination refused: {err.message}", retryable=isinstance(err.__cause__, OSError)
                )
                if last.retryable:
                    continue
                break
            timestamp = int(clock())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                SIGNATURE_HEADER: signature_header(secret, timestamp, body),
                EVENT_ID_HEADER: event.event_id,
                EVENT_TYPE_HEADER: event.type,
                ATTEMPT_HEADER: str(attempt),
            }
            sent += 1
            last = _send_once(client, checked, body, headers)
            if last.error is None or not last.retryable:
                break
    delivered = last.error is None and last.status_code is not None
    outcome = DeliveryOutcome(
        event_id=event.event_id,
        host=host,
        status="delivered" if delivered else "failed",
        attempts=sent,
        last_status_code=last.status_code,
        last_error=last.error,
        finished_at=datetime.fromtimestamp(clock(), UTC),
    )
    log = logger.info if delivered else logger.warning
    log(
        "webhook delivery " + outcome.status,
        extra={
            "event_id": event.event_id,
            "host": host,
            "attempts": sent,
            "status_code": last.status_code,
            "error": last.error,
        },
    )
    return outcome
