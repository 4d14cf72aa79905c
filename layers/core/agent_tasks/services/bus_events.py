"""Task events on the EventBridge bus (SchedulePaused, ModelRetiring): one PutEvents, never raising.

What the event is about is already stored and audited; a lost event must not undo or fail it.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from agent_tasks import aws
from agent_tasks.notifications import EVENT_SOURCE
from agent_tasks.observability import logger
from agent_tasks.settings import get_settings


def put_task_event(detail_type: str, detail: dict[str, Any]) -> bool:
    """Put one event with `detail` (which names its `task_id`); False (logged) when it did not go out."""
    try:
        result = aws.events().put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail),
                    "EventBusName": get_settings().event_bus_name,
                }
            ]
        )
    except (ClientError, BotoCoreError) as error:
        logger.warning(
            f"{detail_type} event failed",
            extra={"task_id": detail.get("task_id"), "error": type(error).__name__},
        )
        return False
    if result.get("FailedEntryCount"):
        logger.warning(f"{detail_type} event refused", extra={"task_id": detail.get("task_id")})
        return False
    return True
