"""Audit events: who changed what, written in the same transaction as the change."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from agent_tasks.models.audit import AuditEvent
from agent_tasks.models.common import Counted
from agent_tasks.settings import get_settings
from agent_tasks.store.dynamo import count, query_page, serialize, table_name, transact


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


def record(event: AuditEvent) -> None:
    """Store one audit event on its own (for a change that is not one write: a slot skipped at its time)."""
    transact([put_audit_item(event)])


AUDIT_SORT_KEY = "*"  # any non-empty <timestamp>#<id>


def audit_partition(owner_id: str) -> tuple[str, str]:
    return "PK", f"AUDIT#{owner_id}"


def list_events(
    owner_id: str, *, limit: int, start_key: dict[str, Any] | None
) -> tuple[list[AuditEvent], dict[str, Any] | None]:
    """One page of a user's trail, newest first."""
    items, last_key = query_page(audit_partition(owner_id), limit=limit, start_key=start_key)
    return [AuditEvent.model_validate(item) for item in items], last_key


def count_events(owner_id: str, *, at_most: int | None = None) -> Counted:
    """How many events a user's trail holds (COUNT queries, no items returned; up to `at_most` read)."""
    return count(audit_partition(owner_id), at_most=at_most)
