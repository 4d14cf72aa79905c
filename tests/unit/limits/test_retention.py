"""Retention: every item of an execution carries the table's TTL, and its S3 objects a lifecycle class."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from agent_tasks import retention
from agent_tasks.services import reports as report_service
from agent_tasks.services import workflow
from agent_tasks.store import executions as execution_store
from agent_tasks_local.deploy import _lifecycle_rule
from tests.support.api_calls import Api, valid_task
from tests.support.fixtures import FakePorts, LambdaClient
from tests.support.template import template

DAY = 86_400


@pytest.fixture
def alice(api: LambdaClient, fake_ports: FakePorts) -> Api:
    # Executions start on the fake workflow port (the steps are then called directly).
    return Api(api, "alice")


def _execute(alice: Api, **task: Any) -> str:
    created = alice.create(**valid_task(allowed_tools=["read_file"], **task))
    status, execution, _ = alice.call("POST", f"/api/v1/tasks/{created['id']}/execute", {"variables": {}})
    assert status == 202, execution
    return str(execution["id"])


def _items(table: str, pk: str) -> list[dict[str, Any]]:
    result = boto3.client("dynamodb").query(
        TableName=table, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": pk}}
    )
    return list(result["Items"])


def test_every_item_of_an_execution_carries_its_tasks_retention(alice: Api, aws: dict[str, str]) -> None:
    # Given a task kept 30 days, with a report
    before = datetime.now(UTC)
    execution_id = _execute(alice, retention_days=30, generate_report=True, report_format="markdown")
    # When it runs to its report
    assert workflow.prepare(execution_id) == {"next": "run"}
    assert workflow.run_agent(execution_id) == {"next": "report"}
    report_id = report_service.generate(execution_id)["report_id"]
    # Then the execution, its session, every message and the report item expire together in 30 days
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.expires_at is not None
    assert abs(execution.expires_at - (before.timestamp() + 30 * DAY)) < 60
    table = aws["TABLE_NAME"]
    items = [
        *_items(table, f"EXEC#{execution_id}"),
        *_items(table, f"SESSION#{execution.session_id}"),
        *_items(table, f"REPORT#{report_id}"),
    ]
    assert len(items) >= 4
    assert {item["expires_at"]["N"] for item in items} == {str(execution.expires_at)}
    # And the report file is tagged with the lifecycle class that expires it (30 days)
    report = boto3.client("dynamodb").get_item(
        TableName=table, Key={"PK": {"S": f"REPORT#{report_id}"}, "SK": {"S": "REPORT"}}
    )["Item"]
    tags = boto3.client("s3").get_object_tagging(Bucket=aws["BUCKET_NAME"], Key=report["s3_key"]["S"])
    assert tags["TagSet"] == [{"Key": "retention-days", "Value": "30"}]
    # And the execution's audit events keep their own retention (AUDIT_RETENTION_DAYS, 400 by default)
    audit = [i for i in _items(table, "AUDIT#alice") if i["resource_id"]["S"] == execution_id]
    assert audit
    for event in audit:
        at = datetime.fromisoformat(event["at"]["S"])
        assert int(event["expires_at"]["N"]) == int((at + timedelta(days=400)).timestamp())


def test_the_owners_default_then_the_services_applies(alice: Api) -> None:
    now = datetime.now(UTC).timestamp()
    # Given no retention anywhere: the service's 90 days
    execution = execution_store.get(_execute(alice, name="a"))
    assert execution is not None
    assert execution.expires_at is not None
    assert abs(execution.expires_at - (now + 90 * DAY)) < 60
    # Given alice's own default of 7 days
    assert alice.call("PUT", "/api/v1/limits", {"retention_days": 7})[0] == 200
    execution = execution_store.get(_execute(alice, name="b"))
    assert execution is not None
    assert execution.expires_at is not None
    assert abs(execution.expires_at - (now + 7 * DAY)) < 60


def test_a_patched_retention_applies_to_the_next_execution(alice: Api) -> None:
    # Given a task whose retention_days is patched to 7
    created = alice.create(**valid_task(allowed_tools=["read_file"]))
    status, task, _ = alice.call("PATCH", f"/api/v1/tasks/{created['id']}", {"retention_days": 7})
    assert (status, task["retention_days"]) == (200, 7)
    now = datetime.now(UTC).timestamp()
    # When it is executed, then the execution expires in 7 days
    _, execution, _ = alice.call("POST", f"/api/v1/tasks/{created['id']}/execute", {"variables": {}})
    assert abs(execution["expires_at"] - (now + 7 * DAY)) < 60


@pytest.mark.parametrize("days", [0, 401, "long"])
def test_an_invalid_retention_is_a_422_naming_the_field(alice: Api, days: Any) -> None:
    status, payload, _ = alice.call("POST", "/api/v1/tasks", valid_task(retention_days=days))
    assert status == 422
    assert ["body", "retention_days"] in [d["loc"] for d in payload["error"]["details"]]
    status, payload, _ = alice.call("PUT", "/api/v1/limits", {"retention_days": days})
    assert status == 422
    assert ["body", "retention_days"] in [d["loc"] for d in payload["error"]["details"]]


@pytest.mark.parametrize(
    ("days_left", "expected"), [(1, 7), (7, 7), (8, 30), (30, 30), (90, 90), (91, 180), (400, 400)]
)
def test_an_object_is_tagged_with_the_smallest_class_that_outlives_its_items(
    days_left: int, expected: int
) -> None:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    expires = int((now + timedelta(days=days_left)).timestamp())
    assert retention.object_tagging(expires, now) == {"Tagging": f"retention-days={expected}"}
    assert retention.object_tagging(None, now) == {}


def test_the_bucket_expires_every_retention_class_and_the_local_cloud_applies_it() -> None:
    rules = template()["Resources"]["ArtifactsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    by_tag = {rule["TagFilters"][0]["Value"]: rule for rule in rules if rule.get("TagFilters")}
    assert set(by_tag) == {str(c) for c in retention.RETENTION_CLASSES}
    for value, rule in by_tag.items():
        assert rule["ExpirationInDays"] == int(value)
        assert _lifecycle_rule(rule)["Filter"] == {"Tag": {"Key": retention.RETENTION_TAG, "Value": value}}
