"""What a manual execution reads before it is written: its task and its owner's spend limits, both in
one BatchGetItem (strongly consistent) instead of two GetItems one after the other."""

from __future__ import annotations

from typing import Any

from agent_tasks.models.limits import SpendLimits
from agent_tasks.models.tasks import Task
from agent_tasks.store import tasks as task_store
from agent_tasks.store import usage as usage_store
from agent_tasks.store.dynamo import batch_get


def task_and_limits(task_id: str, owner_id: str) -> tuple[Task | None, SpendLimits | None]:
    """The task (deleted or not, anyone's: the caller judges) and `owner_id`'s limits; None for either
    that is not stored."""
    task_key, limits_key = task_store.task_key(task_id), usage_store.limits_key(owner_id)
    found = {(item["PK"], item["SK"]): item for item in batch_get([task_key, limits_key])}

    def stored(key: dict[str, dict[str, str]]) -> dict[str, Any] | None:
        return found.get((key["PK"]["S"], key["SK"]["S"]))

    task_item, limits_item = stored(task_key), stored(limits_key)
    task = task_store.from_item(task_item) if task_item else None
    limits = usage_store.limits_from_item(limits_item) if limits_item else None
    return task, limits
