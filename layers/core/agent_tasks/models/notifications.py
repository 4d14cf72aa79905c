"""Notification shapes: a task's `notification_config` and what became of a webhook delivery.

Signing, the event and delivery are in agent_tasks/notifications.py; these shapes are here so the
models never import them (models -> notifications -> observability -> models was a circle).
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Annotated, Literal, Self

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
from agent_tasks.models.common import is_stored
from agent_tasks.settings import get_settings

NotifyOn = Literal["completed", "failed", "cancelled", "timed_out", "expired"]
NotificationEventType = Literal[
    "ExecutionSucceeded", "ExecutionFailed", "ExecutionCancelled", "ExecutionTimedOut", "ExecutionExpired"
]

EVENT_TYPE_BY_STATUS: dict[NotifyOn, NotificationEventType] = {
    "completed": "ExecutionSucceeded",
    "failed": "ExecutionFailed",
    "cancelled": "ExecutionCancelled",
    "timed_out": "ExecutionTimedOut",
    "expired": "ExecutionExpired",  # queued, never started within queued_ttl_seconds
}
# Validation context key that overrides settings.allow_private_network for one validation.
ALLOW_PRIVATE_CONTEXT_KEY = "allow_private_network"

_SNS_TOPIC_ARN = r"^arn:aws(-[a-z]+)*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$"
_PRIVATE_NAME_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


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
        default_factory=lambda: list(EVENT_TYPE_BY_STATUS),
        description="Execution outcomes that send a notification (non-empty, no repeats).",
    )
    webhook_url: HttpUrl | None = Field(
        default=None,
        description="HTTPS endpoint that receives a signed POST per notification; "
        "loopback, private and link-local hosts are refused.",
    )
    sns_topic_arn: str | None = Field(
        default=None,
        pattern=_SNS_TOPIC_ARN,
        description="SNS topic that receives each notification.",
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
        return self

    def wants(self, status: str) -> bool:
        """Whether an execution that ended with `status` should be notified."""
        return status in self.on


class DeliveryOutcome(BaseModel):
    """What became of one webhook delivery, for the execution record."""

    model_config = ConfigDict(extra="forbid")

    destination: Literal["webhook"] = "webhook"
    event_id: str
    host: str = Field(description="The webhook's host (the full URL is not recorded).")
    status: Literal["delivered", "failed"]
    attempts: NonNegativeInt = Field(description="Requests sent (0 when the destination was refused).")
    last_status_code: int | None = Field(default=None, description="HTTP status of the last answer.")
    last_error: str | None = Field(default=None, description="Why the last attempt failed.")
    finished_at: datetime

    @property
    def delivered(self) -> bool:
        return self.status == "delivered"
