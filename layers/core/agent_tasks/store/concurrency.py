"""Run slots and the queue of executions waiting for one (services/concurrency.py decides; this writes).

run slots     PK=RUNS#USER#<uid>   SK=RUNS   holders: a string set of execution ids
              PK=RUNS#TASK#<id>    SK=RUNS   (only for a task with a limit or overlap_policy buffer_one)
queue entry   PK=QUEUE#<uid>       SK=<created>#<execution id>   task_id, buffered, queued_until
              GSI2=QUEUED#<shard> / <queued_until>#<execution id>   (the sweep's expiry index)

A slot is the execution's id in the set, not a count: it is added (with the condition
`size(holders) < :limit`) in the transaction that makes the execution pending, and deleted in the
transaction that ends it (DELETE of an id is idempotent). So the set never drifts from the statuses
through a crash between two writes, and a holder that no longer runs (an item changed outside the
end path, deleted by TTL) is found by reading the holders' statuses (`drop_holders`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from agent_tasks import aws
from agent_tasks.store.dynamo import batch_get, deserialize, get_item, raise_translated, serialize, table_name

SlotSet = tuple[str, str]  # ("user", <uid>) or ("task", <task id>)
QUEUED_PARTITION_PREFIX = "QUEUED#"


def slot_key(slot: SlotSet) -> dict[str, dict[str, str]]:
    kind, owner = slot
    return {"PK": {"S": f"RUNS#{kind.upper()}#{owner}"}, "SK": {"S": "RUNS"}}


def take_slot_item(slot: SlotSet, execution_id: str, limit: int | None) -> dict[str, Any]:
    """The transaction entry that adds `execution_id` to a slot set, refused when `limit` are held."""
    update: dict[str, Any] = {
        "TableName": table_name(),
        "Key": slot_key(slot),
        "UpdateExpression": "ADD holders :id",
        "ExpressionAttributeValues": {":id": {"SS": [execution_id]}},
    }
    if limit is not None:
        update["ConditionExpression"] = "attribute_not_exists(holders) OR size(holders) < :limit"
        update["ExpressionAttributeValues"][":limit"] = {"N": str(limit)}
    return {"Update": update}


def release_slot_item(slot: SlotSet, execution_id: str) -> dict[str, Any]:
    """The transaction entry that frees the execution's slot (a no-op when it holds none)."""
    return {
        "Update": {
            "TableName": table_name(),
            "Key": slot_key(slot),
            "UpdateExpression": "DELETE holders :id",
            "ExpressionAttributeValues": {":id": {"SS": [execution_id]}},
        }
    }


def slot_sets(owner_id: str, task_id: str, names: Sequence[str]) -> list[SlotSet]:
    """The slot sets an execution's `run_slots` names ("user", "task")."""
    return [("user", owner_id) if name == "user" else ("task", task_id) for name in names]


def holders(slot: SlotSet) -> set[str]:
    item = get_item(slot_key(slot), projection=["holders"])
    return set(item.get("holders", [])) if item else set()


def drop_holders(slot: SlotSet, running_statuses: frozenset[str]) -> int:
    """Remove from the set every holder whose execution no longer exists or no longer runs (a slot that
    leaked past the end path); returns how many were removed."""
    ids = sorted(holders(slot))
    if not ids:
        return 0
    keys = [{"PK": {"S": f"EXEC#{i}"}, "SK": {"S": "EXEC"}} for i in ids]
    statuses = {str(item["PK"]).removeprefix("EXEC#"): item.get("status") for item in batch_get(keys)}
    leaked = [i for i in ids if statuses.get(i) not in running_statuses]
    if leaked:
        try:
            aws.dynamodb().update_item(**release_slot_item(slot, "")["Update"] | _values(leaked))
        except ClientError as error:
            raise_translated(error)
    return len(leaked)


def _values(ids: list[str]) -> dict[str, Any]:
    return {"ExpressionAttributeValues": {":id": {"SS": ids}}}


# -- the queue ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueEntry:
    owner_id: str
    execution_id: str
    task_id: str
    created_at: str
    buffered: bool
    queued_until: datetime


def entry_key(owner_id: str, created_at: datetime | str, execution_id: str) -> dict[str, dict[str, str]]:
    created = created_at if isinstance(created_at, str) else created_at.astimezone(UTC).isoformat()
    return {"PK": {"S": f"QUEUE#{owner_id}"}, "SK": {"S": f"{created}#{execution_id}"}}


def put_entry_item(
    *,
    owner_id: str,
    execution_id: str,
    task_id: str,
    created_at: datetime,
    queued_until: datetime,
    buffered: bool,
    shard: int,
    expires_at: int | None,
) -> dict[str, Any]:
    key = entry_key(owner_id, created_at, execution_id)
    until = queued_until.astimezone(UTC).isoformat()
    item = {
        "entity": "queue_entry",
        "owner_id": owner_id,
        "execution_id": execution_id,
        "task_id": task_id,
        "buffered": buffered,
        "queued_until": until,
        "GSI2PK": f"{QUEUED_PARTITION_PREFIX}{shard}",
        "GSI2SK": f"{until}#{execution_id}",
        "expires_at": expires_at,  # the table's TTL: gone with its execution, never before
    }
    return {
        "Put": {
            "TableName": table_name(),
            "Item": {**key, **serialize(item)},
            "ConditionExpression": "attribute_not_exists(PK)",
        }
    }


def delete_entry_item(owner_id: str, created_at: datetime | str, execution_id: str) -> dict[str, Any]:
    return {"Delete": {"TableName": table_name(), "Key": entry_key(owner_id, created_at, execution_id)}}


def _entry(item: dict[str, Any]) -> QueueEntry:
    created, _, execution_id = str(item["SK"]).rpartition("#")
    return QueueEntry(
        owner_id=str(item["owner_id"]),
        execution_id=execution_id,
        task_id=str(item["task_id"]),
        created_at=created,
        buffered=bool(item.get("buffered", False)),
        queued_until=datetime.fromisoformat(str(item["queued_until"])),
    )


def queued_for_user(owner_id: str, *, limit: int) -> list[QueueEntry]:
    """The user's queued executions, oldest first (strongly consistent: a promotion reads it)."""
    try:
        result = aws.dynamodb().query(
            TableName=table_name(),
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"QUEUE#{owner_id}"}},
            ConsistentRead=True,
            Limit=limit,
        )
    except ClientError as error:
        raise_translated(error)
    return [_entry(deserialize(item)) for item in result.get("Items", [])]


@dataclass(frozen=True)
class SweptEntry:
    owner_id: str
    execution_id: str
    queued_until: datetime


def queued_in_shard(shard: int, *, limit: int) -> list[SweptEntry]:
    """The queued executions of one shard, the soonest to expire first (GSI2)."""
    try:
        result = aws.dynamodb().query(
            TableName=table_name(),
            IndexName="GSI2",
            KeyConditionExpression="GSI2PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"{QUEUED_PARTITION_PREFIX}{shard}"}},
            Limit=limit,
        )
    except ClientError as error:
        raise_translated(error)
    entries = []
    for raw in result.get("Items", []):
        item = deserialize(raw)
        until, _, execution_id = str(item["GSI2SK"]).rpartition("#")
        entries.append(
            SweptEntry(
                owner_id=str(item["PK"]).removeprefix("QUEUE#"),
                execution_id=execution_id,
                queued_until=datetime.fromisoformat(until),
            )
        )
    return entries
