"""Approval requests: items under their execution, answered once (conditional on `pending`).

approval  PK=EXEC#<execution id>  SK=APPROVAL#<approval id>

The approval id is named by the execution and the tool call (models.approvals.approval_id_for), so the
request about a call is one GetItem away; requests stored before that have random (uuid4) ids.

The item's `expires_at` is the execution's TTL (the table's TTL attribute: it goes with its execution);
the request's own deadline is `deadline_at` (ISO text, answered as `expires_at`) and `deadline_epoch`
(a number, for the condition that refuses a late answer). The workflow's task token is stored on the
item (`task_token`) and never leaves the store's callers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from agent_tasks import aws
from agent_tasks.models.approvals import Approval, ApprovalStatus
from agent_tasks.models.audit import AuditEvent
from agent_tasks.store.audit import put_audit_item
from agent_tasks.store.dynamo import (
    TransactionConflict,
    deserialize,
    get_item,
    is_condition_failure,
    query_pages,
    raise_translated,
    serialize,
    serialize_value,
    table_name,
    transact,
)

SORT_PREFIX = "APPROVAL#"


def approval_key(execution_id: str, approval_id: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": f"EXEC#{execution_id}"}, "SK": {"S": f"{SORT_PREFIX}{approval_id}"}}


def to_item(approval: Approval) -> dict[str, Any]:
    fields = approval.model_dump(mode="json", exclude={"expires_at", "expires_at_epoch"})
    item: dict[str, Any] = {
        "PK": f"EXEC#{approval.execution_id}",
        "SK": f"{SORT_PREFIX}{approval.id}",
        "entity": "approval",
        **fields,
        "deadline_at": approval.expires_at.isoformat(),
        "deadline_epoch": int(approval.expires_at.timestamp()),
    }
    if approval.expires_at_epoch is not None:
        item["expires_at"] = approval.expires_at_epoch
    if approval.task_token is not None:
        item["task_token"] = approval.task_token
    return item


def from_item(item: dict[str, Any]) -> Approval:
    fields = dict(item)
    fields["expires_at_epoch"] = fields.pop("expires_at", None)
    fields["expires_at"] = fields.pop("deadline_at")
    return Approval.model_validate(fields)


def put(approval: Approval) -> bool:
    """Store a new request; False when one with its id is already stored."""
    try:
        aws.dynamodb().put_item(
            TableName=table_name(),
            Item=serialize(to_item(approval)),
            ConditionExpression="attribute_not_exists(PK)",
        )
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise_translated(error)
    return True


def get(execution_id: str, approval_id: str) -> Approval | None:
    item = get_item(approval_key(execution_id, approval_id))
    return from_item(item) if item else None


def list_for_execution(execution_id: str) -> list[Approval]:
    """Every request of the execution, oldest first, page after page (however many there are).
    Strongly consistent: RunAgent reads the decision an answer has just stored (an older copy would
    ask again)."""
    approvals = [
        from_item(item)
        for rows in query_pages(
            ("PK", f"EXEC#{execution_id}"), SORT_PREFIX, newest_first=False, consistent=True
        )
        for item in rows
    ]
    return sorted(approvals, key=lambda a: (a.requested_at, a.id))


def record_token(execution_id: str, approval_id: str, task_token: str) -> bool:
    """Keep the workflow's task token on a pending request; False when it is no longer pending."""
    try:
        aws.dynamodb().update_item(
            TableName=table_name(),
            Key=approval_key(execution_id, approval_id),
            UpdateExpression="SET task_token = :token",
            ConditionExpression="attribute_exists(PK) AND #status = :pending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":token": {"S": task_token}, ":pending": {"S": "pending"}},
        )
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise_translated(error)
    return True


def _decide_update(
    execution_id: str,
    approval_id: str,
    *,
    status: ApprovalStatus,
    decided_at: datetime,
    decided_by: str,
    reason: str | None,
    answered_before_deadline: bool,
) -> dict[str, Any]:
    names = {"#status": "status"}
    values: dict[str, Any] = {
        ":status": {"S": status},
        ":pending": {"S": "pending"},
        ":at": {"S": decided_at.isoformat()},
        ":by": {"S": decided_by},
    }
    sets = "#status = :status, decided_at = :at, decided_by = :by"
    if reason is not None:
        names["#reason"] = "reason"
        values[":reason"] = serialize_value(reason)
        sets += ", #reason = :reason"
    condition = "attribute_exists(PK) AND #status = :pending"
    if answered_before_deadline:
        values[":now"] = {"N": str(int(decided_at.timestamp()))}
        condition += " AND deadline_epoch > :now"
    return {
        "TableName": table_name(),
        "Key": approval_key(execution_id, approval_id),
        "UpdateExpression": f"SET {sets}",
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def answer(
    execution_id: str,
    approval_id: str,
    *,
    status: ApprovalStatus,
    decided_at: datetime,
    decided_by: str,
    reason: str | None,
    audit: AuditEvent,
) -> bool:
    """A person's answer and its audit event in one transaction, only while the request is pending and
    before its deadline: of two answers at once exactly one is stored (the other gets False)."""
    update = _decide_update(
        execution_id,
        approval_id,
        status=status,
        decided_at=decided_at,
        decided_by=decided_by,
        reason=reason,
        answered_before_deadline=True,
    )
    try:
        transact([{"Update": update}, put_audit_item(audit)])
    except TransactionConflict as conflict:
        if "ConditionalCheckFailed" in conflict.reasons:
            return False
        raise
    return True


def settle(
    execution_id: str,
    approval_id: str,
    *,
    status: ApprovalStatus,
    decided_at: datetime,
    decided_by: str,
    reason: str | None = None,
) -> Approval | None:
    """Settle a pending request without a person (timed out, cancelled); the request as now stored, or
    None when it was no longer pending (someone answered first)."""
    update = _decide_update(
        execution_id,
        approval_id,
        status=status,
        decided_at=decided_at,
        decided_by=decided_by,
        reason=reason,
        answered_before_deadline=False,
    )
    try:
        result = aws.dynamodb().update_item(**update, ReturnValues="ALL_NEW")
    except ClientError as error:
        if is_condition_failure(error):
            return None
        raise_translated(error)
    return from_item(deserialize(result["Attributes"]))
