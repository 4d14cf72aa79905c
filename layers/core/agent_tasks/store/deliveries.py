"""Notification deliveries: one item per attempt, beside the execution they are about.

delivery  PK=EXEC#<execution id>  SK=DELIVERY#<at>#<event id>#<destination>#<attempt>

Each attempt is its own item (a plain PutItem, never a read-modify-write of the execution), so
concurrent notifier invocations never lose one another's records. An item expires with its
execution (`expires_at`, the table's TTL attribute).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from agent_tasks import aws
from agent_tasks.models.notifications import Delivery
from agent_tasks.store.dynamo import (
    get_item,
    is_condition_failure,
    query_page,
    raise_translated,
    serialize,
    table_name,
)

DELIVERY_PREFIX = "DELIVERY#"
# An execution's deliveries: a few events x two destinations x a few attempts each.
MAX_LISTED = 200


def _item(execution_id: str, delivery: Delivery, expires_at: int | None) -> dict[str, Any]:
    at = delivery.at.isoformat()
    sort = f"{DELIVERY_PREFIX}{at}#{delivery.event_id}#{delivery.destination}#{delivery.attempt}"
    item: dict[str, Any] = {
        "PK": f"EXEC#{execution_id}",
        "SK": sort,
        "entity": "delivery",
        **delivery.model_dump(mode="json"),
    }
    if expires_at is not None:
        item["expires_at"] = expires_at
    return item


def record(execution_id: str, delivery: Delivery, *, expires_at: int | None = None) -> None:
    """Add one attempt's record (a repeat of the very same record is a no-op)."""
    try:
        aws.dynamodb().put_item(
            TableName=table_name(),
            Item=serialize(_item(execution_id, delivery, expires_at)),
            ConditionExpression="attribute_not_exists(PK)",
        )
    except ClientError as error:
        if is_condition_failure(error):
            return
        raise_translated(error)


def list_for_execution(execution_id: str) -> list[Delivery]:
    """The execution's delivery records, oldest first (at most MAX_LISTED)."""
    items, _ = query_page(
        ("PK", f"EXEC#{execution_id}"), DELIVERY_PREFIX, limit=MAX_LISTED, newest_first=False
    )
    return [Delivery.model_validate(item) for item in items]


def execution_expiry(execution_id: str) -> int | None:
    """When the execution expires (its deliveries expire with it), reading that attribute only."""
    from agent_tasks.store.executions import execution_key

    item = get_item(execution_key(execution_id), projection=["expires_at"])
    value = item.get("expires_at") if item else None
    return int(value) if value is not None else None
