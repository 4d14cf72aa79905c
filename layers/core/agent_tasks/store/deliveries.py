"""Notification deliveries: one item per attempt, and one progress item per event and destination,
beside the execution they are about.

delivery  PK=EXEC#<execution id>  SK=DELIVERY#<at>#<event id>#<destination>#<attempt>
progress  PK=EXEC#<execution id>  SK=NOTIFY#<event id>#<destination>   (attempts, status, claimed_epoch)

Each attempt is its own item (a plain PutItem, never a read-modify-write of the execution), so
concurrent notifier invocations never lose one another's records; they are listed oldest first, a
page at a time.
The progress item is what a retry reads (one GetItem, however many deliveries the execution has):
the attempts made and the last one's status. An attempt is claimed before it is made, by a
conditional PutItem of the progress item with its number, so DynamoDB itself refuses a second
invocation the same attempt (a duplicate of the event) and any attempt after a delivery. Items
expire with their execution (`expires_at`, the table's TTL attribute).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from agent_tasks import aws
from agent_tasks.models.notifications import Delivery, DeliveryDestination
from agent_tasks.store.dynamo import (
    count,
    get_item,
    is_condition_failure,
    query_page,
    raise_translated,
    serialize,
    table_name,
)

DELIVERY_PREFIX = "DELIVERY#"
PROGRESS_PREFIX = "NOTIFY#"
# A claim still `sending` after this long was left by an invocation that ended without recording its
# attempt (the notifier's timeout is 30 s, template.yaml): the next invocation may take the next one.
CLAIM_HELD_SECONDS = 45


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


ProgressStatus = Literal["sending", "delivered", "failed", "skipped"]


@dataclass(frozen=True)
class Progress:
    """Where one event's delivery to one destination stands."""

    attempts: int  # attempts claimed so far
    status: ProgressStatus  # of the last one (`sending` while it is made)
    claimed_epoch: int  # when the last one was claimed

    @property
    def done(self) -> bool:
        """Delivered, or skipped by only_if: not sent again."""
        return self.status in ("delivered", "skipped")


def _progress_key(execution_id: str, event_id: str, destination: DeliveryDestination) -> dict[str, str]:
    return {"PK": f"EXEC#{execution_id}", "SK": f"{PROGRESS_PREFIX}{event_id}#{destination}"}


def progress(execution_id: str, event_id: str, destination: DeliveryDestination) -> Progress | None:
    """The event's progress to the destination (None before its first attempt): one consistent GetItem."""
    item = get_item(serialize(_progress_key(execution_id, event_id, destination)))
    if item is None:
        return None
    return Progress(int(item["attempts"]), item["status"], int(item["claimed_epoch"]))


def _put_progress(
    execution_id: str,
    event_id: str,
    destination: DeliveryDestination,
    state: Progress,
    *,
    condition: str,
    values: dict[str, Any],
    names: dict[str, str] | None = None,
    expires_at: int | None,
) -> bool:
    item: dict[str, Any] = {
        **_progress_key(execution_id, event_id, destination),
        "entity": "delivery_progress",
        "event_id": event_id,
        "destination": destination,
        "attempts": state.attempts,
        "status": state.status,
        "claimed_epoch": state.claimed_epoch,
    }
    if expires_at is not None:
        item["expires_at"] = expires_at
    arguments: dict[str, Any] = {"ConditionExpression": condition}
    if names:
        arguments["ExpressionAttributeNames"] = names
    if values:
        arguments["ExpressionAttributeValues"] = serialize(values)
    try:
        aws.dynamodb().put_item(TableName=table_name(), Item=serialize(item), **arguments)
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise_translated(error)
    return True


def claim(
    execution_id: str,
    event_id: str,
    destination: DeliveryDestination,
    attempt: int,
    *,
    now_epoch: int,
    expires_at: int | None,
) -> bool:
    """Take attempt `attempt` (1 for the first); False when DynamoDB refuses it: another invocation
    took it, or the last attempt was delivered or skipped, or is still being made."""
    values: dict[str, Any] = {}
    names: dict[str, str] | None = None
    if attempt == 1:
        condition = "attribute_not_exists(PK)"
    else:
        names = {"#status": "status"}  # a reserved word
        condition = (
            "attempts = :previous AND (#status = :failed OR (#status = :sending AND claimed_epoch <= :stale))"
        )
        values = {
            ":previous": attempt - 1,
            ":failed": "failed",
            ":sending": "sending",
            ":stale": now_epoch - CLAIM_HELD_SECONDS,
        }
    state = Progress(attempt, "sending", now_epoch)
    return _put_progress(
        execution_id,
        event_id,
        destination,
        state,
        condition=condition,
        values=values,
        names=names,
        expires_at=expires_at,
    )


def record(execution_id: str, delivery: Delivery, *, expires_at: int | None = None) -> None:
    """Add one attempt's record and mark its progress with the attempt's status (when the attempt is
    still the last claimed: a later one's claim is not overwritten)."""
    try:
        aws.dynamodb().put_item(
            TableName=table_name(),
            Item=serialize(_item(execution_id, delivery, expires_at)),
            ConditionExpression="attribute_not_exists(PK)",
        )
    except ClientError as error:
        if not is_condition_failure(error):  # a repeat of the very same record is a no-op
            raise_translated(error)
    state = Progress(delivery.attempt, delivery.status, int(delivery.at.timestamp()))
    _put_progress(
        execution_id,
        delivery.event_id,
        delivery.destination,
        state,
        condition="attempts = :attempt",
        values={":attempt": delivery.attempt},
        expires_at=expires_at,
    )


def list_page(
    execution_id: str, *, limit: int, start_key: dict[str, Any] | None
) -> tuple[list[Delivery], dict[str, Any] | None]:
    """Up to `limit` of the execution's delivery records after `start_key`, oldest first (their keys
    begin with the time), and DynamoDB's key to go on from (None after the last)."""
    items, last_key = query_page(
        ("PK", f"EXEC#{execution_id}"), DELIVERY_PREFIX, limit=limit, start_key=start_key, newest_first=False
    )
    return [Delivery.model_validate(item) for item in items], last_key


def count_for_execution(execution_id: str) -> int:
    """How many delivery records the execution has (a COUNT query: no items come back)."""
    return count(("PK", f"EXEC#{execution_id}"), DELIVERY_PREFIX).value  # bounded: attempts of one run


def cursor_key_shape(execution_id: str) -> dict[str, str]:
    """The keys a cursor of the execution's deliveries may hold (paging.decode_cursor)."""
    return {"PK": f"EXEC#{execution_id}", "SK": f"{DELIVERY_PREFIX}*"}


def execution_expiry(execution_id: str) -> int | None:
    """When the execution expires (its deliveries expire with it), reading that attribute only."""
    from agent_tasks.store.executions import execution_key

    item = get_item(execution_key(execution_id), projection=["expires_at"])
    value = item.get("expires_at") if item else None
    return int(value) if value is not None else None
