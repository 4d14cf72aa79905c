"""Execution items: created with their audit event, status changes conditional on the current status.

execution  PK=EXEC#<id>  SK=EXEC  GSI1=TASK#<task id> / EXEC#<created>#<id>
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from agent_tasks import aws
from agent_tasks.errors import ConflictError
from agent_tasks.jsontext import dumps_flat
from agent_tasks.models.audit import AuditEvent
from agent_tasks.models.common import Counted
from agent_tasks.models.executions import ACTIVE_STATUSES, Execution
from agent_tasks.store import spill
from agent_tasks.store.audit import put_audit_item
from agent_tasks.store.dynamo import (
    TransactionConflict,
    count,
    deserialize,
    get_item,
    is_condition_failure,
    query_page,
    raise_conflict,
    raise_translated,
    serialize,
    serialize_value,
    table_name,
    transact,
)


def execution_key(execution_id: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": f"EXEC#{execution_id}"}, "SK": {"S": "EXEC"}}


PENDING_PARTITION_PREFIX = "PENDING#"


def _pending_index_keys(execution: Execution) -> dict[str, str]:
    """While pending, an execution sits in GSI2 (sparse, beside the due index) by creation time, so a
    sweeper finds one whose workflow never started; leaving `pending` removes the keys."""
    if execution.status != "pending":
        return {}
    return pending_index_keys(execution.id, execution.dequeued_at or execution.created_at)


def pending_index_keys(execution_id: str, since: datetime) -> dict[str, str]:
    """The pending index's keys of an execution pending since `since` (written, or out of the queue)."""
    from agent_tasks.schedules.due_index import due_shard
    from agent_tasks.settings import get_settings

    shard = due_shard(execution_id, get_settings().due_shards)
    return {
        "GSI2PK": f"{PENDING_PARTITION_PREFIX}{shard}",
        "GSI2SK": f"{since.astimezone(UTC).isoformat()}#{execution_id}",
    }


# What grows with the input and the model's answer. Each field above the limit goes to S3 and the item
# keeps `<field>_s3_key`, so an execution item stays under 400 KB: 4 x 64 KB plus small fields.
SPILLED_FIELDS = ("task_snapshot", "prompt_variables", "rendered_prompt", "result_data")
INLINE_FIELD_LIMIT_BYTES = 64_000
_TEXT_FIELDS = ("prompt_variables", "rendered_prompt")  # stored as text; the others as JSON


def spill_key(execution_id: str, field: str) -> str:
    return f"transcripts/executions/{execution_id}/{field}.json"


def _spill(execution_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` with each large spilled field moved to S3: the field removed, its S3 key set."""
    out = dict(changes)
    for field in SPILLED_FIELDS:
        if field not in changes:
            continue
        value = changes[field]
        out[f"{field}_s3_key"] = None  # a smaller value replaces an earlier spill
        if value is None:
            continue
        text = value if field in _TEXT_FIELDS else json.dumps(value, separators=(",", ":"))
        if len(text.encode("utf-8")) > INLINE_FIELD_LIMIT_BYTES:
            key = spill_key(execution_id, field)
            spill.put_text(key, text)
            out[field] = None
            out[f"{field}_s3_key"] = key
    return out


def _unspill(item: dict[str, Any]) -> dict[str, Any]:
    for field in SPILLED_FIELDS:
        key = item.pop(f"{field}_s3_key", None)
        if key:
            text = spill.get_text(str(key))
            item[field] = text if field in _TEXT_FIELDS else json.loads(text)
    return item


def to_item(execution: Execution) -> dict[str, Any]:
    fields = {
        **execution.model_dump(mode="json"),
        # As JSON text: numbers kept exactly as the caller wrote them (a DynamoDB number would not be).
        "prompt_variables": dumps_flat(execution.prompt_variables),
    }
    return {
        "PK": f"EXEC#{execution.id}",
        "SK": "EXEC",
        "entity": "execution",
        "GSI1PK": f"TASK#{execution.task_id}",
        "GSI1SK": f"EXEC#{execution.created_at.isoformat()}#{execution.id}",
        **_pending_index_keys(execution),
        **_spill(execution.id, fields),
    }


def from_item(item: dict[str, Any]) -> Execution:
    return Execution.model_validate(_unspill(item))


def put_execution_item(execution: Execution) -> dict[str, Any]:
    """The TransactWriteItems entry that creates an execution (never over an existing one)."""
    return {
        "Put": {
            "TableName": table_name(),
            "Item": serialize(to_item(execution)),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
    }


def create(execution: Execution, audit: AuditEvent, *, also: Sequence[Mapping[str, Any]] = ()) -> None:
    """The execution and its audit event in one transaction, with `also` (run slots, a queue entry).
    ConflictError if the id exists; a TransactionConflict (reasons in order) if an `also` item's
    condition failed."""
    try:
        transact([put_execution_item(execution), put_audit_item(audit), *also])
    except TransactionConflict as conflict:
        if not also or conflict.reasons[:1] == ["ConditionalCheckFailed"]:
            raise_conflict(conflict.reasons, [(ConflictError, "an execution with this id already exists")])
        raise


def get(execution_id: str) -> Execution | None:
    item = get_item(execution_key(execution_id))
    return from_item(item) if item else None


def status_of(execution_id: str) -> str | None:
    """Only the status (the cancel check between turns reads this, so it stays small)."""
    item = get_item(execution_key(execution_id), projection=["status"])
    return str(item["status"]) if item else None


def owner_of(execution_id: str) -> str | None:
    """Only the owner's id (an ownership check that needs nothing else: no spilled field read)."""
    item = get_item(execution_key(execution_id), projection=["owner_id"])
    return str(item["owner_id"]) if item else None


def update(
    execution_id: str,
    changes: dict[str, Any],
    *,
    status_in: Iterable[str] | None = None,
    also: Sequence[Mapping[str, Any]] = (),
) -> Execution | None:
    """Set `changes` (None removes a field) if the execution exists and, when given, its status is one of
    `status_in`; returns the execution as now stored, or None when the condition did not hold.

    With `also` (run slots, a queue entry) the change and those items are one transaction; a failed
    condition of one of them raises TransactionConflict (reasons in order, the execution's first)."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    sets: list[str] = []
    removes: list[str] = []
    if changes.get("status", "pending") != "pending":
        changes = {**changes, "GSI2PK": None, "GSI2SK": None}  # out of the pending index
    elif "status" in changes and "dequeued_at" in changes:  # out of the queue: into the pending index
        changes = {
            **changes,
            **pending_index_keys(execution_id, datetime.fromisoformat(changes["dequeued_at"])),
        }
    for index, (field, value) in enumerate(_spill(execution_id, changes).items()):
        names[f"#f{index}"] = field
        if value is None:
            removes.append(f"#f{index}")
        else:
            values[f":v{index}"] = serialize_value(value)
            sets.append(f"#f{index} = :v{index}")
    expression = " ".join(
        part
        for part in (
            f"SET {', '.join(sets)}" if sets else "",
            f"REMOVE {', '.join(removes)}" if removes else "",
        )
        if part
    )
    condition = "attribute_exists(PK)"
    if status_in is not None:
        allowed = sorted(set(status_in))
        names["#status"] = "status"
        placeholders = []
        for index, status in enumerate(allowed):
            values[f":s{index}"] = {"S": status}
            placeholders.append(f":s{index}")
        condition += f" AND #status IN ({', '.join(placeholders)})"
    arguments: dict[str, Any] = {
        "TableName": table_name(),
        "Key": execution_key(execution_id),
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ReturnValues": "ALL_NEW",
    }
    if values:
        arguments["ExpressionAttributeValues"] = values
    if also:
        del arguments["ReturnValues"]
        try:
            transact([{"Update": arguments}, *also])
        except TransactionConflict as conflict:
            if conflict.reasons and conflict.reasons[0] == "ConditionalCheckFailed":
                return None
            raise
        return get(execution_id)
    try:
        result = aws.dynamodb().update_item(**arguments)
    except ClientError as error:
        if is_condition_failure(error):
            return None
        raise_translated(error)
    return from_item(deserialize(result["Attributes"]))


def record_turn_token(execution_id: str, task_token: str) -> bool:
    """Keep the token of the workflow's WaitForTurn state on a queued execution; False (nothing written)
    when it is no longer queued (admitted or ended meanwhile: the caller answers the token itself).
    Whoever moves it out of `queued` later reads the token back with the execution (`turn_token`)."""
    try:
        aws.dynamodb().update_item(
            TableName=table_name(),
            Key=execution_key(execution_id),
            UpdateExpression="SET turn_token = :token",
            ConditionExpression="attribute_exists(PK) AND #status = :queued",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":token": {"S": task_token}, ":queued": {"S": "queued"}},
        )
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise_translated(error)
    return True


def _task_partition(task_id: str) -> tuple[str, str]:
    return "GSI1PK", f"TASK#{task_id}"


def _status_filter(statuses: Iterable[str]) -> dict[str, Any]:
    placeholders = {f":status{index}": {"S": status} for index, status in enumerate(statuses)}
    return {
        "filter_expression": f"#status IN ({', '.join(placeholders)})",
        "names": {"#status": "status"},
        "values": placeholders,
    }


def list_for_task(
    task_id: str, *, limit: int, start_key: dict[str, Any] | None, status: str | None = None
) -> tuple[list[Execution], dict[str, Any] | None]:
    """One page of a task's executions, newest first (the task's partition of GSI1).

    With a status filter a page may hold fewer than `limit` items; the cursor still moves on.
    """
    where = _status_filter([status]) if status is not None else {}
    items, last_key = query_page(
        _task_partition(task_id), "EXEC#", index="GSI1", limit=limit, start_key=start_key, **where
    )
    return [from_item(item) for item in items], last_key


def count_for_task(task_id: str, *, status: str | None = None, at_most: int | None = None) -> Counted:
    """How many executions a task has (COUNT queries over its GSI1 partition, up to `at_most` read)."""
    where = _status_filter([status]) if status is not None else {}
    return count(_task_partition(task_id), "EXEC#", index="GSI1", at_most=at_most, **where)


def cursor_key_shape(task_id: str) -> dict[str, str]:
    """The keys an executions list's cursor may hold (services/paging.decode_cursor)."""
    return {"PK": "EXEC#*", "SK": "EXEC", "GSI1PK": f"TASK#{task_id}", "GSI1SK": "EXEC#*"}


def key_after(execution: Execution) -> dict[str, Any]:
    """The list position just after `execution` (an ExclusiveStartKey of the task's partition)."""
    return {
        "PK": {"S": f"EXEC#{execution.id}"},
        "SK": {"S": "EXEC"},
        "GSI1PK": {"S": f"TASK#{execution.task_id}"},
        "GSI1SK": {"S": f"EXEC#{execution.created_at.isoformat()}#{execution.id}"},
    }


def pending_created_before(shard: int, before: datetime) -> list[str]:
    """Ids of executions still pending that were created before `before` (one shard of GSI2)."""
    arguments: dict[str, Any] = {
        "TableName": table_name(),
        "IndexName": "GSI2",
        "KeyConditionExpression": "GSI2PK = :pk AND GSI2SK < :upper",
        "ExpressionAttributeValues": {
            ":pk": {"S": f"{PENDING_PARTITION_PREFIX}{shard}"},
            ":upper": {"S": before.astimezone(UTC).isoformat()},
        },
        "ProjectionExpression": "GSI2SK",
    }
    ids: list[str] = []
    while True:
        try:
            result = aws.dynamodb().query(**arguments)
        except ClientError as error:
            raise_translated(error)
        ids += [item["GSI2SK"]["S"].rsplit("#", 1)[-1] for item in result.get("Items", [])]
        if "LastEvaluatedKey" not in result:
            return ids
        arguments["ExclusiveStartKey"] = result["LastEvaluatedKey"]


def active_ids_for_task(
    task_id: str, *, newest: int, stale_pending_before: datetime | None = None
) -> list[str]:
    """Ids of active executions (queued, pending, running) among the task's `newest` (see active_for_task)."""
    return [
        execution_id
        for execution_id, _ in active_for_task(
            task_id, newest=newest, stale_pending_before=stale_pending_before
        )
    ]


def active_for_task(
    task_id: str, *, newest: int, stale_pending_before: datetime | None = None
) -> list[tuple[str, str]]:
    """(id, status) of active executions (ACTIVE_STATUSES: queued counts as running) among the task's
    `newest` executions (GSI1, newest first); one still pending though created (or dequeued) before
    `stale_pending_before` does not count (its workflow never started, and the sweeper ends it), nor
    does one still waiting for its slot (`waiting_until`: started ahead, it is not running yet).

    Bounded on purpose: the scheduler's overlap check must not read a task's whole history, and a
    run still going is among its latest executions (under the skip policy later slots start none).
    """
    items, _ = query_page(
        _task_partition(task_id),
        "EXEC#",
        index="GSI1",
        limit=newest,
        projection=["id", "status", "created_at", "dequeued_at", "waiting_until"],
        **_status_filter(sorted(ACTIVE_STATUSES)),
    )
    items = [item for item in items if not (item.get("status") == "pending" and item.get("waiting_until"))]
    if stale_pending_before is not None:
        items = [
            item
            for item in items
            if not (
                item.get("status") == "pending"
                and datetime.fromisoformat(str(item.get("dequeued_at") or item["created_at"]))
                < stale_pending_before
            )
        ]
    return [(str(item["id"]), str(item["status"])) for item in items]
