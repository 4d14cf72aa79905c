"""Cursors come back from clients: a forged or foreign one is a 400, never a 500 or another list's data."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest

from agent_tasks.services.paging import encode_cursor
from tests.support.api_calls import Api
from tests.support.fixtures import LambdaClient


def forged(position: Any, filters: dict[str, Any]) -> str:
    """A cursor signed with the service's own key (as if the key had leaked): its shape is still checked."""
    return encode_cursor(position, filters)


@pytest.mark.parametrize(
    "position",
    [
        {"page": "x"},
        {"page": 0},
        {"key": "a string"},
        {"key": {"GSI1PK": {"N": "1"}}},
        {"after": -1},
        {"surprise": 1},
        ["not", "an", "object"],
    ],
)
def test_a_forged_position_is_a_400(api: LambdaClient, position: Any) -> None:
    # Given a cursor whose filters match but whose position is not one the service makes
    alice = Api(api, "alice")
    task = alice.create()
    cursors = {
        "/api/v1/tasks": forged(
            position, {"tags": None, "is_scheduled": None, "is_active": None, "q": None, "page_size": 20}
        ),
        f"/api/v1/tasks/{task['id']}/executions": forged(
            position, {"task_id": task["id"], "status": None, "page_size": 20}
        ),
        f"/api/v1/tasks/{task['id']}/reports": forged(position, {"task_id": task["id"], "page_size": 20}),
        "/api/v1/audit-events": forged(position, {"owner": "alice", "page_size": 20}),
    }
    for path, cursor in cursors.items():
        # When it is used / Then the answer is a 400 naming the cursor
        status, payload, _ = alice.call("GET", path, query={"cursor": cursor})
        assert status == 400, (path, payload)
        assert payload["error"]["details"][0]["loc"] == ["query", "cursor"]


def test_a_cursor_pointing_into_another_partition_is_a_400(api: LambdaClient) -> None:
    alice = Api(api, "alice")
    task = alice.create()
    elsewhere = {
        "key": {
            "GSI1PK": {"S": "TASK#someone-elses"},
            "GSI1SK": {"S": "EXEC#x"},
            "PK": {"S": "EXEC#x"},
            "SK": {"S": "EXEC"},
        }
    }
    cursor = forged(elsewhere, {"task_id": task["id"], "status": None, "page_size": 20})
    status, payload, _ = alice.call("GET", f"/api/v1/tasks/{task['id']}/executions", query={"cursor": cursor})
    assert status == 400
    assert payload["error"]["details"][0]["msg"] == "cursor points outside this list"


def _insert_executions_and_reports(aws: dict[str, str], task: dict[str, Any], count: int) -> None:
    """Items a list pages through, written as the stores write them (no workflow needed)."""
    from datetime import UTC, datetime, timedelta

    from agent_tasks.store import dynamo

    client = boto3.client("dynamodb", region_name="us-east-1")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for index in range(count):
        at = (start + timedelta(minutes=index)).isoformat()
        execution = {
            "PK": f"EXEC#e{index}",
            "SK": "EXEC",
            "GSI1PK": f"TASK#{task['id']}",
            "GSI1SK": f"EXEC#{at}#e{index}",
            "id": f"e{index}",
            "task_id": task["id"],
            "owner_id": "alice",
            "task_name": task["name"],
            "task_version": 1,
            "task_snapshot": {},
            "trigger_type": "manual",
            "status": "completed",
            "created_at": at,
        }
        report = {
            "PK": f"REPORT#r{index}",
            "SK": "REPORT",
            "GSI1PK": f"TASK#{task['id']}",
            "GSI1SK": f"REPORT#{at}#r{index}",
            "id": f"r{index}",
            "task_id": task["id"],
            "execution_id": f"e{index}",
            "owner_id": "alice",
            "format": "markdown",
            "s3_key": f"reports/r{index}.md",
            "content_type": "text/markdown",
            "size_bytes": 1,
            "schema_version": "1",
            "created_at": at,
        }
        for item in (execution, report):
            client.put_item(TableName=aws["TABLE_NAME"], Item=dynamo.serialize(item))


def _edited(cursor: str, drop: str, *, signature: str) -> str:
    """The client's edit: decode the cursor's readable part, drop one key attribute, encode it again,
    with the old signature, none, or (as if the key had leaked) signed anew."""
    payload, _, old_signature = cursor.partition(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    del decoded["p"]["key"][drop]
    if signature == "resigned":
        from agent_tasks.services import paging

        raw = base64.urlsafe_b64encode(json.dumps(decoded).encode()).decode().rstrip("=")
        return f"{raw}.{paging._signature(raw.encode())}"
    edited = base64.urlsafe_b64encode(json.dumps(decoded).encode()).decode().rstrip("=")
    return f"{edited}.{old_signature}" if signature == "old" else edited


@pytest.mark.parametrize("signature", ["old", "none", "resigned"])
@pytest.mark.parametrize(
    ("path", "drop"),
    [
        ("/api/v1/audit-events", "SK"),
        ("/api/v1/tasks/{task}/executions", "GSI1SK"),
        ("/api/v1/tasks/{task}/reports", "GSI1SK"),
    ],
)
def test_an_edited_cursor_without_its_sort_key_is_a_400(
    api: LambdaClient, aws: dict[str, str], path: str, drop: str, signature: str
) -> None:
    # Given a list longer than a page, and the next_cursor it answered
    alice = Api(api, "alice")
    task = alice.create()
    for index in range(3):
        alice.call("PATCH", f"/api/v1/tasks/{task['id']}", {"description": f"edit {index}"})
    _insert_executions_and_reports(aws, task, 3)
    url = path.format(task=task["id"])
    status, first, _ = alice.call("GET", url, query={"page_size": "2"})
    assert status == 200
    assert first["next_cursor"], first
    # When the client drops the sort key from the cursor's key and sends it back
    edited = _edited(first["next_cursor"], drop, signature=signature)
    status, payload, _ = alice.call("GET", url, query={"page_size": "2", "cursor": edited})
    # Then the answer is a 400 naming the cursor and why, not a 500
    assert status == 400, payload
    detail = payload["error"]["details"][0]
    assert detail["loc"] == ["query", "cursor"]
    expected = "cursor points outside this list" if signature == "resigned" else "changed"
    assert expected in detail["msg"]
    # And the cursor as answered still works
    assert alice.call("GET", url, query={"page_size": "2", "cursor": first["next_cursor"]})[0] == 200
