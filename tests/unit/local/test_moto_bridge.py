"""The local cloud leans on one moto internal; if moto moves it, these fail loudly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from moto.awslambda.models import LambdaFunction

from agent_tasks_local import moto_bridge


def test_the_moto_internals_we_rely_on_are_where_we_left_them() -> None:
    # Given the pinned moto / When the bridge checks it / Then nothing has moved
    moto_bridge.check_internals()


def test_a_moved_internal_is_reported_not_silently_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a moto whose Lambda no longer has _invoke_lambda
    monkeypatch.delattr(LambdaFunction, "_invoke_lambda")
    # When the bridge is asked to route invocations / Then it refuses loudly
    with pytest.raises(RuntimeError, match="_invoke_lambda"):
        moto_bridge.route_lambda_invocations(lambda *_: ("", False, ""))


def test_a_changed_signature_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def _invoke_lambda(self: object, event: object, extra: object) -> None: ...

    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", _invoke_lambda)
    with pytest.raises(RuntimeError, match="expected"):
        moto_bridge.check_internals()


def test_routing_replaces_and_restores_the_invocation() -> None:
    original = LambdaFunction._invoke_lambda
    calls: list[tuple[str, object]] = []
    restore = moto_bridge.route_lambda_invocations(
        lambda name, event: (calls.append((name, event)) or "{}", False, "")
    )
    try:
        fake = object.__new__(LambdaFunction)
        fake.function_name = "fn"  # type: ignore[misc]
        assert LambdaFunction._invoke_lambda(fake, {"a": 1}) == ("{}", False, "")
        assert calls == [("fn", {"a": 1})]
    finally:
        restore()
    assert LambdaFunction._invoke_lambda is original


def test_a_moved_iam_or_step_functions_internal_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a moto whose Step Functions builds its Lambda client differently
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    monkeypatch.setattr(lambda_eval_utils, "boto_client_for", lambda region, service: None)
    # When the strict local cloud would sign the workflow's calls / Then it refuses loudly
    with pytest.raises(RuntimeError, match="boto_client_for"):
        moto_bridge.route_state_machine_calls()


def test_inline_role_policies_are_restated_as_the_json_iam_keeps(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a role whose inline policy moto's CloudFormation kept as a parsed document
    import json

    from moto import mock_aws
    from moto.iam.models import iam_backends

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        import boto3

        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")
        role_id = iam.get_role(RoleName="r")["Role"]["RoleId"]
        role = next(b.roles[role_id] for p in iam_backends.values() for b in p.values() if role_id in b.roles)
        role.policies["p"] = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
        # When the bridge restates them
        moto_bridge.restate_inline_role_policies()
        # Then the policy is JSON text with IAM's version, as IAM's check reads it
        assert json.loads(role.policies["p"])["Version"] == "2012-10-17"


@contextmanager
def _server_with_a_table() -> Iterator[tuple[Any, Any, str]]:
    """A local moto server and a table of its own: moto's backends are shared by the
    whole process, so a fixed table name would collide with another test's."""
    import boto3

    server = moto_bridge.start_server("127.0.0.1", 0)
    try:
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=f"http://127.0.0.1:{moto_bridge.bound_port(server)}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        table = f"t-{uuid.uuid4().hex}"
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield server, dynamodb, table
    finally:
        server.stop()


def _create(table: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table,
            "Item": {"pk": {"S": "a"}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def test_a_transaction_repeated_with_its_client_request_token_is_not_applied_twice() -> None:
    # Given the local cloud's moto server and a table
    with _server_with_a_table() as (_, dynamodb, table):
        created = _create(table)
        counted = {
            "Update": {
                "TableName": table,
                "Key": {"pk": {"S": "n"}},
                "UpdateExpression": "ADD hits :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
        # When the same transaction is sent twice with one token (as botocore retries after a timeout)
        for _ in range(2):
            dynamodb.transact_write_items(TransactItems=[created, counted], ClientRequestToken="token-1")
        # Then the second succeeds without applying again: the condition holds, the counter counts once
        assert dynamodb.get_item(TableName=table, Key={"pk": {"S": "n"}})["Item"]["hits"] == {"N": "1"}
        # And the token with other parameters is refused, as DynamoDB does
        with pytest.raises(dynamodb.exceptions.IdempotentParameterMismatchException):
            dynamodb.transact_write_items(TransactItems=[counted], ClientRequestToken="token-1")
        # And without a token, the condition is judged again
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            dynamodb.transact_write_items(TransactItems=[created, counted])


def test_a_client_request_token_is_forgotten_after_ten_minutes() -> None:
    # Given the local cloud's moto server with a clock the test moves, and a table
    with _server_with_a_table() as (server, dynamodb, table):
        now = [1000.0]
        server._app.clock = lambda: now[0]
        created = _create(table)
        dynamodb.transact_write_items(TransactItems=[created], ClientRequestToken="token-1")
        # When the same transaction comes again with its token more than ten minutes later
        now[0] += 601
        # Then the token is no longer known: the condition is judged again (as DynamoDB does)
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            dynamodb.transact_write_items(TransactItems=[created], ClientRequestToken="token-1")
        assert server._app._transactions == {}
