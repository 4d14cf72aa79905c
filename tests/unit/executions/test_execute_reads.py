"""POST /execute reads the task and the caller's spend limits together: one BatchGetItem, then the
one transaction that writes the execution (two DynamoDB calls; StartExecution is not DynamoDB)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from agent_tasks import aws
from tests.support.api_calls import Api
from tests.support.fixtures import LambdaClient


@pytest.fixture
def alice(api: LambdaClient) -> Api:
    return Api(api, "alice")


@pytest.fixture
def dynamodb_calls() -> Iterator[list[str]]:
    """The DynamoDB operations the API made through the service's clients, in order, up to the workflow's
    start (StartExecution, listed too). What follows depends on the start's outcome: this test's moto has
    no state machine, so the run then ends failed."""
    calls: list[str] = []
    clients = (aws.dynamodb(), aws.stepfunctions())

    def record(model: Any, **_: Any) -> None:
        if "StartExecution" not in calls:
            calls.append(model.name)

    for client in clients:
        client.meta.events.register("before-call", record)
    try:
        yield calls
    finally:
        for client in clients:
            client.meta.events.unregister("before-call", record)


def _execute(alice: Api, task_id: str, **kwargs: Any) -> tuple[int, Any]:
    status, payload, _ = alice.call("POST", f"/api/v1/tasks/{task_id}/execute", {"variables": {}}, **kwargs)
    return status, payload


@pytest.mark.parametrize("with_limits", [False, True], ids=["no-limits", "limits-set"])
def test_execute_reads_the_task_and_the_limits_in_one_call(
    alice: Api, dynamodb_calls: list[str], with_limits: bool
) -> None:
    # Given a task of alice's (and her limits, or none)
    task = alice.create()
    if with_limits:
        assert alice.call("PUT", "/api/v1/limits", {"retention_days": 7})[0] == 200
    dynamodb_calls.clear()
    # When she executes it
    status, payload = _execute(alice, task["id"])
    # Then it started, after one batch read and the one write
    assert status == 202, payload
    assert dynamodb_calls == ["BatchGetItem", "TransactWriteItems", "StartExecution"]
    # And her limits were read with it: her retention applies to the execution
    if with_limits:
        kept = payload["expires_at"] - datetime.fromisoformat(payload["created_at"]).timestamp()
        assert round(kept / 86_400) == 7


def test_another_users_task_is_still_a_404(api: LambdaClient, alice: Api, dynamodb_calls: list[str]) -> None:
    # Given bob's task
    task = Api(api, "bob").create()
    dynamodb_calls.clear()
    # When alice executes it, Then it is not found for her, and nothing was written
    status, payload = _execute(alice, task["id"])
    assert status == 404, payload
    assert "TransactWriteItems" not in dynamodb_calls


def test_an_overlong_idempotency_key_is_refused_before_anything_is_read(
    alice: Api, dynamodb_calls: list[str]
) -> None:
    task = alice.create()
    dynamodb_calls.clear()
    status, payload = _execute(alice, task["id"], headers={"Idempotency-Key": "k" * 256})
    assert status == 422, payload
    assert payload["error"]["details"][0]["loc"] == ["header", "Idempotency-Key"]
    assert dynamodb_calls == []


def test_a_first_idempotent_execute_does_not_read_back_what_it_started(
    alice: Api, dynamodb_calls: list[str]
) -> None:
    # Given a task of alice's
    task = alice.create()
    dynamodb_calls.clear()
    # When she executes it with a new Idempotency-Key
    status, first = _execute(alice, task["id"], headers={"Idempotency-Key": "nightly-1"})
    # Then: one batch read, the key's record, the write, the start; no GetItem of the execution
    assert status == 202, first
    assert dynamodb_calls == ["BatchGetItem", "PutItem", "TransactWriteItems", "StartExecution"]
    # And the same key again answers the same execution, as stored
    again_status, again = _execute(alice, task["id"], headers={"Idempotency-Key": "nightly-1"})
    assert again_status == 202, again
    assert again["id"] == first["id"]
