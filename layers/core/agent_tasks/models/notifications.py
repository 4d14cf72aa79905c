"""Notification shapes: a task's `notification_config`, the bus events it may ask for, and what
became of each delivery.

Signing, the event body and delivery are in agent_tasks/notify/; these shapes are here so the
models never import them (models -> notifications -> observability -> models was a circle).
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Annotated, Literal, Self

import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    NonNegativeInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from agent_tasks import netguard
from agent_tasks.models import arns
from agent_tasks.models.common import is_stored
from agent_tasks.settings import get_settings

ExecutionEndOn = Literal["completed", "failed", "cancelled", "timed_out", "expired"]
NotifyOn = Literal[
    "completed",
    "failed",
    "cancelled",
    "timed_out",
    "expired",
    "approval_requested",
    "schedule_paused",
    "model_retiring",
    "budget_reached",
]
NotificationEventType = Literal[
    "ExecutionSucceeded", "ExecutionFailed", "ExecutionCancelled", "ExecutionTimedOut", "ExecutionExpired"
]
NotificationFormat = Literal["json", "slack"]

EVENT_TYPE_BY_STATUS: dict[ExecutionEndOn, NotificationEventType] = {
    "completed": "ExecutionSucceeded",
    "failed": "ExecutionFailed",
    "cancelled": "ExecutionCancelled",
    "timed_out": "ExecutionTimedOut",
    "expired": "ExecutionExpired",  # queued, never started within queued_ttl_seconds
}
# The bus detail-types of task events (services put them through services/bus_events.put_task_event).
APPROVAL_REQUESTED = "ApprovalRequested"
SCHEDULE_PAUSED = "SchedulePaused"
MODEL_RETIRING = "ModelRetiring"
BUDGET_REACHED = "BudgetReached"
# The one mapping of a bus detail-type to the `on` value that asks for it (the notifier's rule
# in template.yaml routes exactly these detail-types; a test keeps the two the same).
ON_BY_DETAIL_TYPE: dict[str, NotifyOn] = {
    **{event_type: status for status, event_type in EVENT_TYPE_BY_STATUS.items()},
    APPROVAL_REQUESTED: "approval_requested",
    SCHEDULE_PAUSED: "schedule_paused",
    MODEL_RETIRING: "model_retiring",
    BUDGET_REACHED: "budget_reached",
}
DETAIL_TYPE_BY_ON: dict[NotifyOn, str] = {on: detail_type for detail_type, on in ON_BY_DETAIL_TYPE.items()}
# An only_if expression is at most this long: its work is bounded by it and by the event's size.
ONLY_IF_MAX_CHARS = 512
# arn:aws-iso-b:sns:<region>:<account>: is under 64 characters; a topic's name at most 256 + ".fifo".
MAX_TOPIC_ARN_CHARS = 330

# Validation context key that overrides settings.allow_private_network for one validation.
ALLOW_PRIVATE_CONTEXT_KEY = "allow_private_network"

_PRIVATE_NAME_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


def _execution_ends() -> list[NotifyOn]:
    return [*EVENT_TYPE_BY_STATUS]


def _allow_private(info: ValidationInfo) -> bool:
    context = info.context if isinstance(info.context, dict) else {}
    if ALLOW_PRIVATE_CONTEXT_KEY in context:
        return bool(context[ALLOW_PRIVATE_CONTEXT_KEY])
    return get_settings().allow_private_network


def host_problem(host: str, *, allow_private: bool) -> str | None:
    """Why a webhook host is plainly unacceptable, judged from the name alone (no DNS), or None."""
    name = host.strip("[]").rstrip(".").lower()
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if address is not None:
        return netguard.address_problem(address, allow_private=allow_private)
    if allow_private:
        return None
    if name == "localhost" or name.endswith(_PRIVATE_NAME_SUFFIXES):
        return "a local host name"
    if "." not in name:
        return "not a public host name (no domain)"
    return None


class NotificationConfig(BaseModel):
    """Where to send notifications about a task's executions, and for which outcomes."""

    model_config = ConfigDict(extra="forbid")

    on: Annotated[list[NotifyOn], Field(min_length=1)] = Field(
        default_factory=_execution_ends,
        description="Events that send a notification (non-empty, no repeats): an execution's end "
        "(completed, failed, cancelled, timed_out; the default is these four) or a task event "
        "(approval_requested, schedule_paused, model_retiring, budget_reached).",
    )
    format: NotificationFormat = Field(
        default="json",
        description="What the webhook receives: `json`, the signed event (the default), or `slack`, a "
        "Slack incoming-webhook message. SNS always receives the JSON event.",
    )
    only_if: str | None = Field(
        default=None,
        max_length=ONLY_IF_MAX_CHARS,
        description="A JMESPath expression evaluated against the event (e.g. `status`, `cost_usd`, "
        "`duration_seconds`, `structured_output`); the notification goes only when it is truthy, "
        "e.g. `structured_output.problems_found > `0``.",
    )
    webhook_url: HttpUrl | None = Field(
        default=None,
        description="HTTPS endpoint that receives a signed POST per notification; "
        "loopback, private and link-local hosts are refused.",
    )
    sns_topic_arn: str | None = Field(
        default=None,
        max_length=MAX_TOPIC_ARN_CHARS,
        description="SNS topic that receives each notification: "
        "arn:<partition>:sns:<region>:<account>:<name>, with a real region of that partition.",
    )

    @field_validator("on")
    @classmethod
    def _unique(cls, value: list[NotifyOn], info: ValidationInfo) -> list[NotifyOn]:
        if is_stored(info):
            return value
        repeated = sorted({item for item in value if value.count(item) > 1})
        if repeated:
            raise ValueError(f"each outcome may appear once; repeated: {', '.join(repeated)}")
        return value

    @field_validator("sns_topic_arn")
    @classmethod
    def _topic_arn(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not is_stored(info):
            arns.sns_topic(value)  # ValueError: which part is wrong, and why
        return value

    @field_validator("only_if")
    @classmethod
    def _compiles(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or is_stored(info):
            return value
        if not value.strip():
            raise ValueError("only_if must not be blank; leave it out to always notify")
        try:
            jmespath.compile(value)
        except JMESPathError as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ValueError(f"not a JMESPath expression: {reason}") from None
        return value

    @field_validator("webhook_url")
    @classmethod
    def _public_https(cls, value: HttpUrl | None, info: ValidationInfo) -> HttpUrl | None:
        if value is None or is_stored(info):
            return value
        allow_private = _allow_private(info)
        if value.scheme != "https" and not allow_private:
            raise ValueError("webhook_url must use https")
        if value.username or value.password:
            raise ValueError("webhook_url must not carry credentials; the signature authenticates us")
        problem = host_problem(value.host or "", allow_private=allow_private)
        if problem is not None:
            raise ValueError(f"webhook_url host {value.host} is {problem}")
        return value

    @model_validator(mode="after")
    def _has_destination(self, info: ValidationInfo) -> Self:
        if self.webhook_url is None and self.sns_topic_arn is None and not is_stored(info):
            raise ValueError("set at least one destination: webhook_url or sns_topic_arn")
        if self.format == "slack" and self.webhook_url is None and not is_stored(info):
            raise ValueError("format slack sends to webhook_url (a Slack incoming webhook): set it")
        return self

    def wants(self, on: str) -> bool:
        """Whether an event of this `on` value (e.g. an execution that ended `failed`) is notified."""
        return on in self.on


class DeliveryOutcome(BaseModel):
    """What became of one webhook delivery, for the execution record."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    destination: Literal["webhook"] = "webhook"
    event_id: str
    host: str = Field(description="The webhook's host (the full URL is not recorded).")
    status: Literal["delivered", "failed"]
    attempts: NonNegativeInt = Field(description="Requests sent (0 when the destination was refused).")
    last_status_code: int | None = Field(default=None, description="HTTP status of the last answer.")
    last_error: str | None = Field(default=None, description="Why the last attempt failed.")
    retryable: bool = Field(default=False, description="Whether a later attempt may succeed.")
    finished_at: datetime

    @property
    def delivered(self) -> bool:
        return self.status == "delivered"


DeliveryDestination = Literal["webhook", "slack", "sns"]


class Delivery(BaseModel):
    """One attempt to deliver one event to one destination, as the notifier recorded it."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    event_id: str = Field(description="The event's id: the same on every attempt (receivers drop repeats).")
    event_type: str = Field(description="The bus detail-type, e.g. ExecutionSucceeded or ApprovalRequested.")
    destination: DeliveryDestination
    target: str = Field(description="The webhook's host (the full URL is not recorded) or the SNS topic ARN.")
    attempt: int = Field(ge=1, description="1 for the first attempt of this event to this destination.")
    status: Literal["delivered", "failed", "skipped"] = Field(
        description="`skipped`: only_if was not truthy for the event, so nothing was sent."
    )
    status_code: int | None = Field(default=None, description="HTTP status of the webhook's answer.")
    error: str | None = Field(default=None, description="Why it failed, or why it was skipped.")
    retryable: bool = Field(
        default=False,
        description="A failure that may pass later: the notifier is invoked again (its retry policy) "
        "until its attempts are spent, then the event goes to its dead-letter queue.",
    )
    at: datetime
