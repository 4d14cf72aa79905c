"""The store loads what it stored: a task stored under older rules reads back as it was stored."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from agent_tasks.models.tasks import Task, TaskFields
from agent_tasks.store import dynamo
from tests.support.api_calls import Api
from tests.support.fixtures import LambdaClient


def _refused_by_todays_rules(owner_id: str) -> dict[str, Any]:
    """A task item as an older version could have stored it, which every input rule refuses today."""
    return {
        "PK": "TASK#old-1",
        "SK": "TASK",
        "entity": "task",
        "id": "old-1",
        "owner_id": owner_id,
        "version": 3,
        "created_at": "2025-01-01T00:00:00+00:00",
        "updated_at": "2025-01-01T00:00:00+00:00",
        "name": "x" * 300,  # longer than 255
        "prompt_template": "Hello {{ name",  # not a template any more
        "allowed_tools": ["RetiredTool"],  # not a known tool
        "disallowed_tools": [],
        "sdk_options": {
            "model": "claude-sonnet-4-5",
            "mcp_servers": [
                {"name": "docs", "url": "http://docs.example.com/mcp"},  # not https
                {"name": "docs", "url": "http://docs.example.com/mcp"},  # twice
            ],
        },
        "is_scheduled": True,
        "schedule_cron": "61 * * * *",  # not a cron expression
        "schedule_timezone": "Mars/Olympus",  # not a time zone
        "notification_config": {"on": ["failed", "failed"], "webhook_url": "http://10.0.0.1/hook"},
        "tags": ["not ok!"],
        "is_deleted": False,
    }


def test_a_task_stored_under_older_rules_reads_back_as_stored(api: LambdaClient, aws: dict[str, str]) -> None:
    # Given an item that today's input rules would refuse, stored as an older version stored it
    item = _refused_by_todays_rules("alice")
    boto3.client("dynamodb").put_item(TableName=aws["TABLE_NAME"], Item=dynamo.serialize(item))
    # When its owner reads it through the API
    status, task, _ = Api(api, "alice").call("GET", "/api/v1/tasks/old-1")
    # Then it is answered as stored, not a 500 or a 422
    assert status == 200, task
    assert (task["name"], task["allowed_tools"], task["schedule_cron"]) == (
        "x" * 300,
        ["RetiredTool"],
        "61 * * * *",
    )
    assert task["schedule_timezone"] == "Mars/Olympus"
    assert task["template_variables"] == []  # not derivable from a broken template
    assert task["schedule_description"] is None


def test_template_variables_are_stored_when_the_task_is_written(
    api: LambdaClient, aws: dict[str, str]
) -> None:
    # Given a task created through the API
    task = Api(api, "alice").create(prompt_template="Check {{ env }} for {{ service }}")
    # When its item is read straight from the table
    key = {"PK": {"S": f"TASK#{task['id']}"}, "SK": {"S": "TASK"}}
    item = dynamo.deserialize(boto3.client("dynamodb").get_item(TableName=aws["TABLE_NAME"], Key=key)["Item"])
    # Then the variables were worked out once, at write time, and are what the API answers
    assert item["template_variables"] == ["env", "service"] == task["template_variables"]


def test_the_stored_record_keeps_every_field_a_user_can_set() -> None:
    # Given the input fields and the stored record / Then nothing a user sets is lost when stored
    assert set(TaskFields.model_fields) <= set(Task.model_fields)


def test_a_transaction_cancelled_by_a_conflicting_one_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    from agent_tasks.store import dynamo

    # Given DynamoDB cancelling the first attempt for a conflicting transaction only
    attempts: list[int] = []

    class Client:
        def transact_write_items(self, **_: Any) -> None:
            attempts.append(1)
            if len(attempts) == 1:
                raise ClientError(
                    {
                        "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                        "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
                    },
                    "TransactWriteItems",
                )

    monkeypatch.setattr(dynamo.aws, "dynamodb", Client)
    monkeypatch.setattr(dynamo.time, "sleep", lambda _: None)
    # When a transaction is written / Then it is tried again and succeeds
    dynamo.transact([{"Put": {}}])
    assert len(attempts) == 2


def test_a_failed_condition_is_not_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    from agent_tasks.store import dynamo

    # Given DynamoDB cancelling for a failed condition (and a conflict)
    attempts: list[int] = []

    class Client:
        def transact_write_items(self, **_: Any) -> None:
            attempts.append(1)
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "no"},
                    "CancellationReasons": [
                        {"Code": "ConditionalCheckFailed"},
                        {"Code": "TransactionConflict"},
                    ],
                },
                "TransactWriteItems",
            )

    monkeypatch.setattr(dynamo.aws, "dynamodb", Client)
    # When a transaction is written / Then it fails at once with the reasons
    with pytest.raises(dynamo.TransactionConflict):
        dynamo.transact([{"Put": {}}])
    assert len(attempts) == 1
