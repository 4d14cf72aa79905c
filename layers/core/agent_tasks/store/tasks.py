"""Task items, their name locks and their place in the due-schedule index.

task       PK=TASK#<id>      SK=TASK                 GSI1=USER#<uid> / TASK#<created>#<id>
                                                    GSI2=DUE#<shard> / <next_run_at>#<id> (sparse)
name lock  PK=USER#<uid>     SK=TASKNAME#<lower name>
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from agent_tasks import aws
from agent_tasks.errors import ConflictError, NotFoundError, PreconditionFailedError
from agent_tasks.models.audit import AuditEvent
from agent_tasks.models.tasks import Task
from agent_tasks.settings import get_settings
from agent_tasks.store.audit import put_audit_item
from agent_tasks.store.dynamo import (
    TransactionConflict,
    deserialize,
    raise_conflict,
    raise_translated,
    serialize,
    table_name,
    transact,
)


def task_key(task_id: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": f"TASK#{task_id}"}, "SK": {"S": "TASK"}}


def name_lock_key(owner_id: str, name: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": f"USER#{owner_id}"}, "SK": {"S": f"TASKNAME#{name.casefold()}"}}


def _due_keys(task: Task) -> dict[str, str]:
    if not task.is_due_indexed or task.next_run_at is None:
        return {}
    from agent_tasks.schedules import due_partition_key, due_shard, due_sort_key

    shard = due_shard(task.id, get_settings().due_shards)
    # A claimed but unfinished slot keeps the task due at that slot (services/scheduler.py).
    from agent_tasks.schedules.jitter import due_at as jittered

    due_at = (
        task.pending_slot.slot
        if task.pending_slot is not None
        else jittered(task.id, task.next_run_at, task.jitter_seconds)
    )
    return {"GSI2PK": due_partition_key(shard), "GSI2SK": due_sort_key(due_at, task.id)}


def to_item(task: Task) -> dict[str, Any]:
    body = task.model_dump(mode="json", exclude={"webhook_secret"})
    # Secrets are stored; answers never show them (SecretStr masks them when serialised for output).
    for server, stored in zip(task.sdk_options.mcp_servers, body["sdk_options"]["mcp_servers"], strict=True):
        token = server.authorization_token
        stored["authorization_token"] = token.get_secret_value() if token else None
    return {
        "PK": f"TASK#{task.id}",
        "SK": "TASK",
        "entity": "task",
        "GSI1PK": f"USER#{task.owner_id}",
        "GSI1SK": f"TASK#{task.created_at.isoformat()}#{task.id}",
        **_due_keys(task),
        **body,
        "webhook_secret": task.webhook_secret,
    }


def from_item(item: dict[str, Any]) -> Task:
    return Task.model_validate(item, context={"allow_private_network": True})


def _lock_item(task: Task) -> dict[str, Any]:
    return {
        "PK": f"USER#{task.owner_id}",
        "SK": f"TASKNAME#{task.name.casefold()}",
        "entity": "task_name_lock",
        "task_id": task.id,
        "owner_id": task.owner_id,
    }


def create(task: Task, audit: AuditEvent) -> None:
    """Task, name lock and audit event in one transaction: all three or none."""
    try:
        transact(
            [
                {
                    "Put": {
                        "TableName": table_name(),
                        "Item": serialize(to_item(task)),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {
                    "Put": {
                        "TableName": table_name(),
                        "Item": serialize(_lock_item(task)),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                put_audit_item(audit),
            ]
        )
    except TransactionConflict as conflict:
        raise_conflict(
            conflict.reasons,
            [
                (ConflictError, "a task with this id already exists"),
                (
                    ConflictError,
                    f"you already have a task named {task.name!r} (names are unique, ignoring case)",
                ),
            ],
        )


def get(task_id: str) -> Task | None:
    """The task, deleted or not (callers decide what a deleted task means)."""
    try:
        result = aws.dynamodb().get_item(TableName=table_name(), Key=task_key(task_id), ConsistentRead=True)
    except ClientError as error:
        raise_translated(error)
    item = result.get("Item")
    return from_item(deserialize(item)) if item else None


def list_for_owner(owner_id: str) -> list[Task]:
    """Every live task of a user, newest first: the user's partition of GSI1, never the whole table."""
    client = aws.dynamodb()
    arguments: dict[str, Any] = {
        "TableName": table_name(),
        "IndexName": "GSI1",
        "KeyConditionExpression": "GSI1PK = :pk AND begins_with(GSI1SK, :prefix)",
        "FilterExpression": "is_deleted = :false",
        "ExpressionAttributeValues": {
            ":pk": {"S": f"USER#{owner_id}"},
            ":prefix": {"S": "TASK#"},
            ":false": {"BOOL": False},
        },
        "ScanIndexForward": False,
    }
    tasks: list[Task] = []
    while True:
        result = client.query(**arguments)
        tasks.extend(from_item(deserialize(item)) for item in result.get("Items", []))
        if "LastEvaluatedKey" not in result:
            return tasks
        arguments["ExclusiveStartKey"] = result["LastEvaluatedKey"]


def replace(old: Task, new: Task, audit: AuditEvent) -> None:
    """Write a new version of a task, conditional on the version read; moves the name lock if renamed."""
    items: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": table_name(),
                "Item": serialize(to_item(new)),
                "ConditionExpression": "#version = :expected AND is_deleted = :false",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {
                    ":expected": {"N": str(old.version)},
                    ":false": {"BOOL": False},
                },
            }
        },
        put_audit_item(audit),
    ]
    renamed = old.name.casefold() != new.name.casefold()
    if renamed:
        items.append(
            {
                "Put": {
                    "TableName": table_name(),
                    "Item": serialize(_lock_item(new)),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
        )
        items.append(
            {
                "Delete": {
                    "TableName": table_name(),
                    "Key": name_lock_key(old.owner_id, old.name),
                    "ConditionExpression": "task_id = :task",
                    "ExpressionAttributeValues": {":task": {"S": old.id}},
                }
            }
        )
    try:
        transact(items)
    except TransactionConflict as conflict:
        raise_conflict(
            conflict.reasons,
            [
                (
                    PreconditionFailedError,
                    "the task has changed since it was read (version mismatch); read it again",
                ),
                ConflictError,
                (
                    ConflictError,
                    f"you already have a task named {new.name!r} (names are unique, ignoring case)",
                ),
                ConflictError,
            ],
        )


def soft_delete(old: Task, deleted: Task, audit: AuditEvent) -> None:
    """Mark deleted (out of lists and the due index), free its name; executions are kept."""
    try:
        transact(
            [
                {
                    "Put": {
                        "TableName": table_name(),
                        "Item": serialize(to_item(deleted)),
                        "ConditionExpression": "#version = :expected AND is_deleted = :false",
                        "ExpressionAttributeNames": {"#version": "version"},
                        "ExpressionAttributeValues": {
                            ":expected": {"N": str(old.version)},
                            ":false": {"BOOL": False},
                        },
                    }
                },
                {"Delete": {"TableName": table_name(), "Key": name_lock_key(old.owner_id, old.name)}},
                put_audit_item(audit),
            ]
        )
    except TransactionConflict as conflict:
        raise_conflict(
            conflict.reasons,
            [(PreconditionFailedError, "the task has changed since it was read; read it again")],
        )


def restore(old: Task, restored: Task, audit: AuditEvent) -> None:
    """Bring a deleted task back: live again, its name taken again (409 if it is in use now)."""
    try:
        transact(
            [
                {
                    "Put": {
                        "TableName": table_name(),
                        "Item": serialize(to_item(restored)),
                        "ConditionExpression": "#version = :expected AND is_deleted = :true",
                        "ExpressionAttributeNames": {"#version": "version"},
                        "ExpressionAttributeValues": {
                            ":expected": {"N": str(old.version)},
                            ":true": {"BOOL": True},
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": table_name(),
                        "Item": serialize(_lock_item(restored)),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                put_audit_item(audit),
            ]
        )
    except TransactionConflict as conflict:
        raise_conflict(
            conflict.reasons,
            [
                (PreconditionFailedError, "the task has changed since it was read; read it again"),
                (ConflictError, f"you now have another task named {restored.name!r}; rename that one first"),
            ],
        )


def require(task_id: str) -> Task:
    task = get(task_id)
    if task is None or task.is_deleted:
        raise NotFoundError("no such task")
    return task
