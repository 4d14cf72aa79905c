"""The topic port: publish one message to a user's SNS topic (the notifier's SNS destination)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from agent_tasks import aws
from agent_tasks.observability import logger

# Refusals a retry will not change: no permission on the topic (or its KMS key), a topic that is gone,
# a request SNS refuses. Anything else (throttling, SNS's or KMS's internal errors, no answer) may pass later.
PERMANENT_CODES = frozenset(
    {
        "AuthorizationError",
        "AccessDenied",
        "AccessDeniedException",
        "NotFound",
        "NotFoundException",
        "InvalidParameter",
        "InvalidParameterValue",
        "InvalidSecurity",
        "KMSAccessDenied",
        "KMSDisabled",
        "KMSInvalidState",
        "KMSNotFound",
        "KMSOptInRequired",
    }
)


@dataclass(frozen=True)
class TopicOutcome:
    delivered: bool
    detail: str | None = None  # why not, when not
    retryable: bool = False


class Topics(Protocol):
    def publish(self, request: dict[str, Any]) -> TopicOutcome:
        """SNS Publish with `request` (TopicArn, Message, MessageAttributes...); never raises."""


class SnsTopics:
    """SNS Publish, in the topic's own region."""

    def publish(self, request: dict[str, Any]) -> TopicOutcome:
        arn = str(request["TopicArn"])
        parts = arn.split(":")
        region = parts[3] if len(parts) > 3 and parts[3] else None
        try:
            aws.sns(region).publish(**request)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "") or "error"
            message = str(error.response.get("Error", {}).get("Message", ""))[:200]
            logger.warning("SNS publish refused", extra={"topic_arn": arn, "code": code})
            detail = f"{code}: {message}" if message else code
            return TopicOutcome(False, detail, retryable=code not in PERMANENT_CODES)
        except BotoCoreError as error:
            logger.warning("SNS publish failed", extra={"topic_arn": arn, "error": type(error).__name__})
            return TopicOutcome(False, type(error).__name__, retryable=True)
        return TopicOutcome(True)


@dataclass
class InMemoryTopics:
    """A fake: keeps what was published; `refuse_with` (code, retryable) makes every publish fail."""

    published: list[dict[str, Any]] = field(default_factory=list)
    refuse_with: tuple[str, bool] | None = None

    def publish(self, request: dict[str, Any]) -> TopicOutcome:
        if self.refuse_with is not None:
            code, retryable = self.refuse_with
            return TopicOutcome(False, code, retryable=retryable)
        self.published.append(request)
        return TopicOutcome(True)
