"""The due-schedule index (GSI2) and the scheduler's conditional writes on task items.

task  GSI2PK = DUE#<shard>   GSI2SK = <due at>#<task id>   (sparse: only due-indexed tasks)

`<due at>` is the task's `pending_slot.slot` while a tick has claimed a slot and not yet
finished it, otherwise its `next_run_at` (store/tasks.py `_due_keys` writes the same).
None of these writes bumps the task's `version`: they are the scheduler's bookkeeping, and a
user's If-Match must not go stale every minute because a schedule fired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from pydantic import TypeAdapter

from agent_tasks import aws
from agent_tasks.models.audit import AuditEvent
from agent_tasks.models.tasks import PendingSlot, Task
from agent_tasks.schedules import (
    due_partition_key,
    due_sort_key,
    due_sort_key_upper_bound,
    parse_due_sort_key,
)
from agent_tasks.schedules.jitter import due_at
from agent_tasks.store.audit import put_audit_item
from agent_tasks.store.dynamo import (
    TransactionConflict,
    deserialize,
    is_condition_failure,
    raise_translated,
    serialize_value,
    table_name,
    transact,
)
from agent_tasks.store.tasks import from_item, task_key

_DATETIME = TypeAdapter(datetime)


@dataclass(frozen=True, slots=True)
class DueEntry:
    task_id: str
    due_at: datetime
    owner_id: str | None = None  # projected into the index, so a tick can order owners fairly


@dataclass(frozen=True, slots=True)
class DueSlice:
    """The due entries of one shard and what reading them cost."""

    entries: list[DueEntry]
    items_read: int
    queries: int


def _iso(moment: datetime) -> str:
    """A time exactly as the task item stores it (pydantic's JSON form of an aware UTC datetime)."""
    text: str = _DATETIME.dump_python(moment.astimezone(UTC), mode="json")
    return text


def query_due(shard: int, now: datetime) -> DueSlice:
    """Every entry of shard `shard` due at or before `now`: only the due slice is read, page by page."""
    arguments: dict[str, Any] = {
        "TableName": table_name(),
        "IndexName": "GSI2",
        "KeyConditionExpression": "GSI2PK = :pk AND GSI2SK < :upper",
        "ExpressionAttributeValues": {
            ":pk": {"S": due_partition_key(shard)},
            ":upper": {"S": due_sort_key_upper_bound(now)},
        },
        "ProjectionExpression": "GSI2SK, owner_id",
    }
    client = aws.dynamodb()
    entries: list[DueEntry] = []
    items_read = queries = 0
    while True:
        try:
            result = client.query(**arguments)
        except ClientError as error:
            raise_translated(error)
        queries += 1
        items = result.get("Items", [])
        items_read += len(items)
        for item in items:
            due_at, task_id = parse_due_sort_key(item["GSI2SK"]["S"])
            owner = item.get("owner_id", {}).get("S")
            entries.append(DueEntry(task_id=task_id, due_at=due_at, owner_id=owner))
        if "LastEvaluatedKey" not in result:
            return DueSlice(entries=entries, items_read=items_read, queries=queries)
        arguments["ExclusiveStartKey"] = result["LastEvaluatedKey"]


def advance_schedule(
    task_id: str, expected_next_run_at: datetime, new_next_run_at: datetime | None, pending: PendingSlot
) -> bool:
    """Claim a slot: move next_run_at from the value read to the next fire time (None, for a one-time
    schedule's only slot: removed), record the slot as pending and keep the task due at it. The
    condition on next_run_at means two ticks at once claim a slot once; False when another tick (or
    an edit, or a disable) got there first."""
    values: dict[str, Any] = {
        ":expected": {"S": _iso(expected_next_run_at)},
        ":pending": serialize_value(pending.model_dump(mode="json")),
        ":due": {"S": due_sort_key(pending.slot, task_id)},
    }
    expression = "SET pending_slot = :pending, GSI2SK = :due"
    if new_next_run_at is None:
        expression += " REMOVE next_run_at"
    else:
        expression += ", next_run_at = :new"
        values[":new"] = {"S": _iso(new_next_run_at)}
    try:
        aws.dynamodb().update_item(
            TableName=table_name(),
            Key=task_key(task_id),
            UpdateExpression=expression,
            ConditionExpression="next_run_at = :expected AND attribute_exists(GSI2PK)",
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise_translated(error)
    return True


def finish_slot(
    task_id: str,
    slot: datetime,
    next_run_at: datetime | None,
    audits: Sequence[AuditEvent] = (),
    *,
    jitter_seconds: int = 0,
    count_run: bool = False,
) -> bool:
    """Clear the claimed slot and move the task's due key to its next_run_at (plus its jitter), with
    the slot's audit events in the same write. False if the claim is gone (finished already, or the
    task changed). `count_run` adds one to the task's scheduled_runs (a slot that started).
    `next_run_at` None: a one-time schedule's only slot; the task stays due at the slot until the
    scheduler disables the schedule (a tick that finds it so disables it)."""
    values: dict[str, Any] = {":slot": {"S": _iso(slot)}}
    if next_run_at is None:
        expression = "REMOVE pending_slot"
        condition = "pending_slot.#slot = :slot AND attribute_not_exists(next_run_at)"
    else:
        expression = "SET GSI2SK = :due REMOVE pending_slot"
        condition = "pending_slot.#slot = :slot AND next_run_at = :next"
        values[":next"] = {"S": _iso(next_run_at)}
        values[":due"] = {"S": due_sort_key(due_at(task_id, next_run_at, jitter_seconds), task_id)}
    update: dict[str, Any] = {
        "TableName": table_name(),
        "Key": task_key(task_id),
        "UpdateExpression": expression + (" ADD scheduled_runs :one" if count_run else ""),
        "ConditionExpression": condition + " AND attribute_exists(GSI2PK)",
        "ExpressionAttributeNames": {"#slot": "slot"},
        "ExpressionAttributeValues": values,
    }
    if count_run:
        update["ExpressionAttributeValues"][":one"] = {"N": "1"}
    if audits:
        try:
            transact([{"Update": update}, *(put_audit_item(audit) for audit in audits)])
        except TransactionConflict as conflict:
            if conflict.reasons and conflict.reasons[0] == "ConditionalCheckFailed":
                return False
            raise
        return True
    try:
        aws.dynamodb().update_item(**update)
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise_translated(error)
    return True


def count_run(task_id: str) -> Task | None:
    """One more scheduled run began (a slot started ahead, at its time: max_runs); the task as now
    stored (None if it is gone)."""
    return _add_one(task_id, "scheduled_runs")


def count_failure(task_id: str) -> Task | None:
    """One more scheduled run failed in a row; the task as now stored (None if it is gone)."""
    return _add_one(task_id, "consecutive_failures")


def _add_one(task_id: str, counter: str) -> Task | None:
    try:
        result = aws.dynamodb().update_item(
            TableName=table_name(),
            Key=task_key(task_id),
            UpdateExpression="ADD #counter :one",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeNames={"#counter": counter},
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="ALL_NEW",
        )
    except ClientError as error:
        if is_condition_failure(error):
            return None
        raise_translated(error)
    return from_item(deserialize(result["Attributes"]))


def reset_failures(task_id: str) -> None:
    """A scheduled run completed: the failure streak ends (no write when there was none)."""
    try:
        aws.dynamodb().update_item(
            TableName=table_name(),
            Key=task_key(task_id),
            UpdateExpression="SET consecutive_failures = :zero",
            ConditionExpression="consecutive_failures > :zero",
            ExpressionAttributeValues={":zero": {"N": "0"}},
        )
    except ClientError as error:
        if not is_condition_failure(error):
            raise_translated(error)
