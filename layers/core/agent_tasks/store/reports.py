"""Report items and report files.

report  PK=REPORT#<id>  SK=REPORT  GSI1=TASK#<task id> / REPORT#<created>#<id>
file    s3://<bucket>/reports/<owner>/<execution>/<report id>.<ext>
"""

from __future__ import annotations

from typing import Any

from agent_tasks import aws
from agent_tasks.models.common import Counted
from agent_tasks.models.reports import Report
from agent_tasks.settings import get_settings
from agent_tasks.store.dynamo import (
    TransactionConflict,
    count,
    get_item,
    query_page,
    serialize,
    serialize_value,
    table_name,
    transact,
)
from agent_tasks.store.executions import execution_key


def report_s3_key(owner_id: str, execution_id: str, report_id: str, extension: str) -> str:
    return f"reports/{owner_id}/{execution_id}/{report_id}.{extension}"


def put_file(key: str, body: bytes, content_type: str, *, tagging: dict[str, Any] | None = None) -> None:
    """Store a report file; `tagging` (its retention class) lets the bucket's lifecycle expire it."""
    aws.s3().put_object(
        Bucket=get_settings().bucket_name,
        Key=key,
        Body=body,
        ContentType=content_type,
        ServerSideEncryption="AES256",
        **(tagging or {}),
    )


def create_for_running_execution(report: Report) -> bool:
    """The report item and the execution's report_id in one transaction, only while it is running.

    False when the execution is no longer running (cancelled meanwhile) or already has a report.
    """
    item = {
        "PK": f"REPORT#{report.id}",
        "SK": "REPORT",
        "entity": "report",
        "GSI1PK": f"TASK#{report.task_id}",
        "GSI1SK": f"REPORT#{report.created_at.isoformat()}#{report.id}",
        **report.model_dump(mode="json"),
    }
    try:
        transact(
            [
                {
                    "Put": {
                        "TableName": table_name(),
                        "Item": serialize(item),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {
                    "Update": {
                        "TableName": table_name(),
                        "Key": execution_key(report.execution_id),
                        "UpdateExpression": "SET report_id = :report",
                        "ConditionExpression": "#status = :running AND attribute_not_exists(report_id)",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":report": serialize_value(report.id),
                            ":running": {"S": "running"},
                        },
                    }
                },
            ]
        )
    except TransactionConflict as conflict:
        if "ConditionalCheckFailed" in conflict.reasons:
            return False  # the execution is no longer running, or already has its report
        raise  # a transient conflict: the step fails and Step Functions retries it
    return True


def get(report_id: str) -> Report | None:
    item = get_item({"PK": {"S": f"REPORT#{report_id}"}, "SK": {"S": "REPORT"}})
    return Report.model_validate(item) if item else None


def list_for_task(
    task_id: str, *, limit: int, start_key: dict[str, Any] | None
) -> tuple[list[Report], dict[str, Any] | None]:
    """One page of a task's reports, newest first."""
    items, last_key = query_page(
        ("GSI1PK", f"TASK#{task_id}"), "REPORT#", index="GSI1", limit=limit, start_key=start_key
    )
    return [Report.model_validate(item) for item in items], last_key


def count_for_task(task_id: str, *, at_most: int | None = None) -> Counted:
    return count(("GSI1PK", f"TASK#{task_id}"), "REPORT#", index="GSI1", at_most=at_most)


def cursor_key_shape(task_id: str) -> dict[str, str]:
    """The keys a reports list's cursor may hold (services/paging.decode_cursor)."""
    return {"PK": "REPORT#*", "SK": "REPORT", "GSI1PK": f"TASK#{task_id}", "GSI1SK": "REPORT#*"}


def presigned_url(key: str, expires_in: int) -> str:
    url: str = aws.s3().generate_presigned_url(
        "get_object", Params={"Bucket": get_settings().bucket_name, "Key": key}, ExpiresIn=expires_in
    )
    return url
