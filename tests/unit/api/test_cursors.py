"""Cursors come back from clients: a forged or foreign one is a 400, never a 500 or another list's data."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from agent_tasks.services.paging import fingerprint
from tests.support.api_calls import Api
from tests.support.fixtures import LambdaClient


def forged(position: Any, filters: dict[str, Any]) -> str:
    raw = json.dumps({"p": position, "f": fingerprint(filters)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


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
