"""The event port: publish one event on the service's bus (the one PutEvents of the service)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from agent_tasks import aws
from agent_tasks.notify.events import EVENT_SOURCE
from agent_tasks.observability import logger
from agent_tasks.settings import get_settings


@dataclass(frozen=True)
class PublishOutcome:
    delivered: bool
    detail: str | None = None  # why not, when not


class EventBus(Protocol):
    def publish(self, detail_type: str, detail: str) -> PublishOutcome:
        """Publish `detail` (JSON text) as `detail_type` from this service; never raises for a refusal."""


class EventBridgeBus:
    """EventBridge PutEvents on the settings' bus."""

    def publish(self, detail_type: str, detail: str) -> PublishOutcome:
        entry: Any = {
            "Source": EVENT_SOURCE,
            "DetailType": detail_type,
            "Detail": detail,
            "EventBusName": get_settings().event_bus_name,
        }
        try:
            result = aws.events().put_events(Entries=[entry])
        except (ClientError, BotoCoreError) as error:
            logger.warning(
                "PutEvents failed", extra={"detail_type": detail_type, "error": type(error).__name__}
            )
            return PublishOutcome(False, type(error).__name__)
        if result.get("FailedEntryCount"):
            code = (result.get("Entries") or [{}])[0].get("ErrorCode")
            logger.warning("PutEvents refused an entry", extra={"detail_type": detail_type, "code": code})
            return PublishOutcome(False, code)
        return PublishOutcome(True)


@dataclass
class InMemoryEventBus:
    """A fake: keeps what was published; `refuse_with` makes every publish fail with that reason."""

    published: list[tuple[str, str]] = field(default_factory=list)
    refuse_with: str | None = None

    def publish(self, detail_type: str, detail: str) -> PublishOutcome:
        if self.refuse_with is not None:
            return PublishOutcome(False, self.refuse_with)
        self.published.append((detail_type, detail))
        return PublishOutcome(True)
