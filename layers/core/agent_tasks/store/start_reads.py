"""What a manual execution reads before it is written: its task and its owner's spend limits, both in
one BatchGetItem (strongly consistent) instead of two GetItems one after the other."""

from __future__ import annotations

from agent_tasks.models.limits import SpendLimits
from agent_tasks.models.tasks import Task
from agent_tasks.store import tasks as task_store
from agent_tasks.store import usage as usage_store
from agent_tasks.store.dynamo import batch_get, deserialize


def task_and_limits(task_id: str, owner_id: str) -> tuple[Task | None, SpendLimits | None]:
    """The task (deleted or not, anyone's: the caller judges) and `owner_id`'s limits; None for either
    that is not stored."""
    task_key = deserialize(task_store.task_key(task_id))
    limits_key = deserialize(usage_store.limits_key(owner_id))
    task: Task | None = None
    limits: SpendLimits | None = None
    for item in batch_get([task_store.task_key(task_id), usage_store.limits_key(owner_id)]):
        key = {"PK": item["PK"], "SK": item["SK"]}
        if key == task_key:
            task = task_store.from_item(item)
        elif key == limits_key:
            limits = usage_store.limits_from_item(item)
    return task, limits
