"""Identity of a schedule slot, so each slot starts at most one execution.

The idempotency key names the slot; the execution id is a UUID5 of it, so a scheduler that
crashes after starting an execution and retries the same slot creates the same execution id
(a conditional put on it fails) rather than a second execution.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

# Fixed forever: changing it would give already-started slots new execution ids.
_SLOT_EXECUTION_NAMESPACE = uuid.UUID("fd7147a4-b248-4732-b4d4-0dc808dc9a52")


def slot_idempotency_key(task_id: str, slot: datetime) -> str:
    """`sched#<task_id>#<slot as YYYY-MM-DDTHH:MMZ>`; slots are whole minutes in UTC."""
    if not task_id:
        raise ValueError("task_id must not be empty")
    if slot.tzinfo is None or slot.utcoffset() is None:
        raise ValueError(f"slot must be a timezone-aware datetime, got naive {slot.isoformat()}")
    if slot.second or slot.microsecond:
        raise ValueError(f"slot must be a whole minute (cron fire times are), got {slot.isoformat()}")
    return f"sched#{task_id}#{slot.astimezone(UTC):%Y-%m-%dT%H:%MZ}"


def slot_execution_id(task_id: str, slot: datetime) -> str:
    """The deterministic execution id (UUID5, as text) for a task's slot."""
    return str(uuid.uuid5(_SLOT_EXECUTION_NAMESPACE, slot_idempotency_key(task_id, slot)))
