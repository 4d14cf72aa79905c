"""Secret items: metadata and the sealed value (never a clear one), in the owner's partition.

secret  PK=USER#<uid>  SK=SECRET#<NAME>
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from agent_tasks import aws
from agent_tasks.errors import ConflictError, NotFoundError
from agent_tasks.models.audit import AuditEvent
from agent_tasks.models.secrets import SecretRecord
from agent_tasks.store.audit import put_audit_item
from agent_tasks.store.dynamo import (
    TransactionConflict,
    deserialize,
    get_item,
    is_condition_failure,
    raise_conflict,
    raise_translated,
    serialize,
    table_name,
    transact,
)

PREFIX = "SECRET#"


def secret_key(owner_id: str, name: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": f"USER#{owner_id}"}, "SK": {"S": f"{PREFIX}{name}"}}


def to_item(record: SecretRecord) -> dict[str, Any]:
    return {
        "PK": f"USER#{record.owner_id}",
        "SK": f"{PREFIX}{record.name}",
        "entity": "secret",
        **record.model_dump(mode="json"),
    }


def from_item(item: dict[str, Any]) -> SecretRecord:
    return SecretRecord.model_validate(item)


def put(record: SecretRecord, audit: AuditEvent, *, previous_version: int | None) -> None:
    """Create (previous_version None) or replace the version read, with its audit event, all or nothing."""
    if previous_version is None:
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(PK)"}
    else:
        condition = {
            "ConditionExpression": "#version = :expected",
            "ExpressionAttributeNames": {"#version": "version"},
            "ExpressionAttributeValues": {":expected": {"N": str(previous_version)}},
        }
    try:
        transact(
            [
                {"Put": {"TableName": table_name(), "Item": serialize(to_item(record)), **condition}},
                put_audit_item(audit),
            ]
        )
    except TransactionConflict as conflict:
        raise_conflict(conflict.reasons, [(ConflictError, "the secret was changed at the same time; retry")])


def get(owner_id: str, name: str) -> SecretRecord | None:
    item = get_item(secret_key(owner_id, name))
    return from_item(item) if item else None


_METADATA = [name for name in SecretRecord.model_fields if name != "sealed"]


def _owner_items(owner_id: str, attributes: list[str]) -> Iterator[dict[str, Any]]:
    """Every secret item of a user (only the named attributes), by name, page after page."""
    client = aws.dynamodb()
    arguments: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": f"USER#{owner_id}"}, ":prefix": {"S": PREFIX}},
        "ProjectionExpression": ", ".join(f"#{i}" for i in range(len(attributes))),
        "ExpressionAttributeNames": {f"#{i}": name for i, name in enumerate(attributes)},
        "ConsistentRead": True,
    }
    while True:
        try:
            result = client.query(**arguments)
        except ClientError as error:
            raise_translated(error)
        yield from (deserialize(item) for item in result.get("Items", []))
        if "LastEvaluatedKey" not in result:
            return
        arguments["ExclusiveStartKey"] = result["LastEvaluatedKey"]


def list_for_owner(owner_id: str) -> list[SecretRecord]:
    """Every secret of a user, by name, without the sealed values (they are not read at all)."""
    return [from_item(item) for item in _owner_items(owner_id, _METADATA)]


def names_of(owner_id: str) -> set[str]:
    """The names of a user's secrets (keys only)."""
    return {str(item["SK"]).removeprefix(PREFIX) for item in _owner_items(owner_id, ["SK"])}


def delete(owner_id: str, name: str, audit: AuditEvent) -> None:
    try:
        transact(
            [
                {
                    "Delete": {
                        "TableName": table_name(),
                        "Key": secret_key(owner_id, name),
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
                put_audit_item(audit),
            ]
        )
    except TransactionConflict as conflict:
        raise_conflict(conflict.reasons, [(NotFoundError, "no such secret")])


def mark_used(owner_id: str, name: str, *, at: datetime, task_id: str, execution_id: str) -> None:
    """Record which task's run last read the secret (only if it still exists)."""
    try:
        aws.dynamodb().update_item(
            TableName=table_name(),
            Key=secret_key(owner_id, name),
            UpdateExpression=(
                "SET last_used_at = :at, last_used_task_id = :task, last_used_execution_id = :exec"
            ),
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={
                ":at": {"S": at.isoformat()},
                ":task": {"S": task_id},
                ":exec": {"S": execution_id},
            },
        )
    except ClientError as error:
        if is_condition_failure(error):
            return
        raise_translated(error)
