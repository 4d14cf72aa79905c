"""Concurrency through the local cloud's HTTP front: optimistic locking and the name lock."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import httpx2 as httpx

from tests.support.api_calls import valid_task


def _client(cloud: Any, user: str) -> httpx.Client:
    return httpx.Client(
        base_url=cloud.api_url, headers={"Authorization": f"Bearer {cloud.token(user)}"}, timeout=60
    )


def _items(cloud: Any, pk: str) -> list[dict[str, Any]]:
    table = cloud.stack.outputs["TableName"]
    result = boto3.client("dynamodb").query(
        TableName=table, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": pk}}
    )
    return result["Items"]


def test_twenty_concurrent_patches_with_one_if_match_give_one_200(local_cloud: Any) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    with _client(local_cloud, user) as client:
        task = client.post("/api/v1/tasks", json=valid_task()).json()

        def patch(i: int) -> int:
            with _client(local_cloud, user) as c:
                return c.patch(
                    f"/api/v1/tasks/{task['id']}",
                    json={"description": f"writer {i}"},
                    headers={"If-Match": '"1"'},
                ).status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(patch, range(20)))
        assert statuses.count(200) == 1
        assert statuses.count(412) == 19
        assert client.get(f"/api/v1/tasks/{task['id']}").json()["version"] == 2
    # exactly one update was audited
    audit = [i for i in _items(local_cloud, f"AUDIT#{user}") if i["action"]["S"] == "task.updated"]
    assert len(audit) == 1


def test_two_concurrent_creates_of_one_name_give_201_and_409_and_no_orphans(local_cloud: Any) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"

    def create(name: str) -> int:
        with _client(local_cloud, user) as c:
            return c.post("/api/v1/tasks", json=valid_task(name=name)).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(create, ["Same Name", "same name"]))
    assert statuses == [201, 409]
    locks = [i for i in _items(local_cloud, f"USER#{user}") if i["SK"]["S"].startswith("TASKNAME#")]
    assert len(locks) == 1
    audit = _items(local_cloud, f"AUDIT#{user}")
    assert [a["action"]["S"] for a in audit] == ["task.created"]
    with _client(local_cloud, user) as client:
        listed = client.get("/api/v1/tasks").json()
    assert listed["total"] == 1
    assert locks[0]["task_id"]["S"] == listed["items"][0]["id"]
