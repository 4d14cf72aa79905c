"""Audit events: who changed what, written in the same transaction as the change."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from agent_tasks import aws
from agent_tasks.models.audit import AuditEvent
from agent_tasks.settings import get_settings
from agent_tasks.store.dynamo import deserialize, serialize, table_name


def audit_key(owner_id: str, at: datetime, event_id: str) -> dict[str, str]:
    return {"PK": f"AUDIT#{owner_id}", "SK": f"{at.isoformat()}#{event_id}"}


def new_event(
    *,
    actor_id: str,
    owner_id: str,
    action: str,
    resource_type: str,
    resource_id: str,
    at: datetime,
    request_id: str | None,
    changed_fields: list[str] | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent(
        id=str(uuid.uuid4()),
        actor_id=actor_id,
        owner_id=owner_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        changed_fields=sorted(changed_fields or []),
        request_id=request_id,
        details=details or {},
        at=at,
    )


def put_audit_item(event: AuditEvent) -> dict[str, Any]:
    """The TransactWriteItems entry that stores one audit event (kept for the retention period)."""
    expires = int((event.at + timedelta(days=get_settings().audit_retention_days)).timestamp())
    item = {
        **audit_key(event.owner_id, event.at, event.id),
        "entity": "audit",
        **event.model_dump(mode="json"),
        "expires_at": expires,
    }
    return {
        "Put": {
            "TableName": table_name(),
            "Item": serialize(item),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
    }


def list_events(
    owner_id: str, *, limit: int, start_key: dict[str, Any] | None
) -> tuple[list[AuditEvent], dict[str, Any] | None]:
    """One page of a user's trail, newest first."""
    arguments: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"AUDIT#{owner_id}"}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if start_key:
        arguments["ExclusiveStartKey"] = start_key
    result = aws.dynamodb().query(**arguments)
    events = [AuditEvent.model_validate(deserialize(item)) for item in result.get("Items", [])]
    return events, result.get("LastEvaluatedKey")


def count_events(owner_id: str) -> int:
    """How many events a user's trail holds (a COUNT query: keys only, no items returned)."""
    client = aws.dynamodb()
    arguments: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"AUDIT#{owner_id}"}},
        "Select": "COUNT",
    }
    total = 0
    while True:
        result = client.query(**arguments)
        total += result.get("Count", 0)
        if "LastEvaluatedKey" not in result:
            return total
        arguments["ExclusiveStartKey"] = result["LastEvaluatedKey"]
