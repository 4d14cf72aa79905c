"""Spend caps and spend rolled up per UTC period: atomic counters, never a scan.

limits            PK=USER#<uid>   SK=LIMITS
usage, total      PK=USAGE#<uid>  SK=DAY#2026-12-02            (and MONTH#2026-12)
usage, per task   PK=USAGE#<uid>  SK=DAY#2026-12-02#TASK#<id>  (and MONTH#2026-12#TASK#<id>)

Each model call's cost is added (UpdateItem ADD) to the four usage items in the same transaction
that stores the call's message, so no call is counted twice or lost, whatever runs at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from agent_tasks import aws
from agent_tasks.errors import PreconditionFailedError
from agent_tasks.models.audit import AuditEvent
from agent_tasks.models.limits import PERIODS, Period, SpendLimits, TaskUsage, UsageFigures, period_key
from agent_tasks.models.transcript import Usage
from agent_tasks.store.audit import put_audit_item
from agent_tasks.store.dynamo import (
    TransactionConflict,
    get_item,
    is_condition_failure,
    query_pages,
    raise_conflict,
    raise_translated,
    serialize,
    serialize_value,
    table_name,
    transact,
)

# Usage items outlive their month by a year and then expire (DynamoDB TTL).
USAGE_RETENTION_DAYS = 400
_COUNTERS = ("cost_usd", "model_calls", "input_tokens", "output_tokens")


def limits_key(owner_id: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": f"USER#{owner_id}"}, "SK": {"S": "LIMITS"}}


def _usage_pk(owner_id: str) -> str:
    return f"USAGE#{owner_id}"


def usage_sort_key(period: Period, key: str, task_id: str | None = None) -> str:
    base = f"{period.upper()}#{key}"
    return f"{base}#TASK#{task_id}" if task_id else base


def get_limits(owner_id: str) -> SpendLimits | None:
    item = get_item(limits_key(owner_id))
    return limits_from_item(item) if item else None


def limits_from_item(item: dict[str, Any]) -> SpendLimits:
    return SpendLimits.model_validate(item)


def put_limits(limits: SpendLimits, audit: AuditEvent, *, expected_version: int) -> None:
    """Store the caps (version + 1) with their audit event; PreconditionFailedError if they changed."""
    item = {
        "PK": f"USER#{limits.owner_id}",
        "SK": "LIMITS",
        "entity": "limits",
        **limits.model_dump(mode="json"),
    }
    put: dict[str, Any] = {"TableName": table_name(), "Item": serialize(item)}
    if expected_version == 0:
        put["ConditionExpression"] = "attribute_not_exists(PK)"
    else:
        put["ConditionExpression"] = "version = :v"
        put["ExpressionAttributeValues"] = {":v": serialize_value(expected_version)}
    try:
        transact([{"Put": put}, put_audit_item(audit)])
    except TransactionConflict as conflict:
        raise_conflict(
            conflict.reasons, [(PreconditionFailedError, "the limits changed meanwhile; read and retry")]
        )


def rollup_items(
    owner_id: str, task_id: str, at: datetime, cost_usd: float, usage: Usage | None
) -> list[dict[str, Any]]:
    """The TransactWriteItems entries that add one model call to the user's and the task's day and month."""
    values = {
        ":cost": serialize_value(cost_usd),
        ":one": serialize_value(1),
        ":in": serialize_value(usage.input_tokens if usage else 0),
        ":out": serialize_value(usage.output_tokens if usage else 0),
        ":owner": {"S": owner_id},
        ":expires": serialize_value(int((at + timedelta(days=USAGE_RETENTION_DAYS + 31)).timestamp())),
    }
    items = []
    for period in PERIODS:
        key = period_key(period, at)
        for task in (None, task_id):
            update = (
                "ADD cost_usd :cost, model_calls :one, input_tokens :in, output_tokens :out "
                "SET owner_id = :owner, expires_at = if_not_exists(expires_at, :expires)"
            )
            item_values = dict(values)
            if task is not None:
                update += ", task_id = :task"
                item_values[":task"] = {"S": task}
            items.append(
                {
                    "Update": {
                        "TableName": table_name(),
                        "Key": {
                            "PK": {"S": _usage_pk(owner_id)},
                            "SK": {"S": usage_sort_key(period, key, task)},
                        },
                        "UpdateExpression": update,
                        "ExpressionAttributeValues": item_values,
                    }
                }
            )
    return items


def _figures(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item.get(name, 0) for name in _COUNTERS}


def period_usage(owner_id: str, period: Period, key: str) -> tuple[UsageFigures, set[str]]:
    """The user's totals in one period, and which alerts (`soft_alert`, `cap`) it already raised."""
    item = get_item({"PK": {"S": _usage_pk(owner_id)}, "SK": {"S": usage_sort_key(period, key)}}) or {}
    return UsageFigures.model_validate(_figures(item)), set(item.get("alerted") or [])


def task_usage(owner_id: str, period: Period, key: str) -> list[TaskUsage]:
    """Every task's totals in one period (one query on the user's usage partition)."""
    prefix = usage_sort_key(period, key) + "#TASK#"
    return [
        TaskUsage.model_validate({"task_id": item.get("task_id", ""), **_figures(item)})
        for rows in query_pages(("PK", _usage_pk(owner_id)), prefix, newest_first=False)
        for item in rows
    ]


def mark_alerted(owner_id: str, period: Period, key: str, level: str) -> bool:
    """Remember that a period raised an alert; True only for the one caller that marked it first."""
    try:
        aws.dynamodb().update_item(
            TableName=table_name(),
            Key={"PK": {"S": _usage_pk(owner_id)}, "SK": {"S": usage_sort_key(period, key)}},
            UpdateExpression="ADD alerted :level",
            ConditionExpression="attribute_exists(PK) AND NOT contains(alerted, :name)",
            ExpressionAttributeValues={":level": {"SS": [level]}, ":name": {"S": level}},
        )
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise_translated(error)
    return True
