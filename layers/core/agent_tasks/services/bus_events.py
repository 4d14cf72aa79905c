"""Task events on the event bus (SchedulePaused, ModelRetiring), through the event port, never raising.

What the event is about is already stored and audited; a lost event must not undo or fail it.
"""

from __future__ import annotations

import json
from typing import Any

from agent_tasks import adapters
from agent_tasks.observability import logger


def put_task_event(detail_type: str, detail: dict[str, Any]) -> bool:
    """Put one event with `detail` (which names its `task_id`); False (logged) when it did not go out."""
    outcome = adapters.event_bus().publish(detail_type, json.dumps(detail))
    if not outcome.delivered:
        logger.warning(
            f"{detail_type} event not published",
            extra={"task_id": detail.get("task_id"), "why": outcome.detail},
        )
    return outcome.delivered
