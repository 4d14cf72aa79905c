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


# -- TransactWriteItems at the cost of its items (transactions_at_item_cost) ---------------------------


@contextmanager
def _cheap_transactions() -> Iterator[Any]:
    """A local moto server whose transactions keep only the items they touch for their rollback, and
    a table with the service's key shape (PK, SK), of its own name."""
    restore = moto_bridge.transactions_at_item_cost()
    try:
        with _server_with_a_table() as (_, dynamodb, _):
            table = f"pk-sk-{uuid.uuid4().hex}"
            dynamodb.create_table(
                TableName=table,
                KeySchema=[
                    {"AttributeName": "PK", "KeyType": "HASH"},
                    {"AttributeName": "SK", "KeyType": "RANGE"},
                ],
                AttributeDefinitions=[
                    {"AttributeName": "PK", "AttributeType": "S"},
                    {"AttributeName": "SK", "AttributeType": "S"},
                ],
                BillingMode="PAY_PER_REQUEST",
            )
            yield dynamodb, table
    finally:
        restore()


def test_the_internals_still_check_while_transactions_are_cheap() -> None:
    # Given transactions at their items' cost (moto's method wrapped)
    restore = moto_bridge.transactions_at_item_cost()
    try:
        # When the bridge checks moto again (each of its patches does) / Then moto's own method is read
        moto_bridge.check_internals()
    finally:
        restore()


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def _everything(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: (item["PK"]["S"], item["SK"]["S"]))


def _seed(dynamodb: Any, table: str) -> None:
    for pk, sk, hits in (("A", "1", "5"), ("A", "2", "7"), ("B", "1", "1")):
        dynamodb.put_item(TableName=table, Item={**_key(pk, sk), "hits": {"N": hits}, "tag": {"S": "x"}})


def _writes(table: str) -> list[dict[str, Any]]:
    """One of each write: an update of an item, a put of a new one (in a partition that exists and in
    one that does not), a put over an existing one and a delete."""
    return [
        {
            "Update": {
                "TableName": table,
                "Key": _key("A", "1"),
                "UpdateExpression": "ADD hits :one REMOVE tag",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        {"Put": {"TableName": table, "Item": {**_key("A", "3"), "hits": {"N": "0"}}}},
        {"Put": {"TableName": table, "Item": {**_key("C", "1"), "hits": {"N": "0"}}}},
        {"Put": {"TableName": table, "Item": {**_key("B", "1"), "hits": {"N": "100"}}}},
        {"Delete": {"TableName": table, "Key": _key("A", "2")}},
    ]


@pytest.mark.parametrize("failing_at", ["first", "last"])
def test_a_transaction_whose_condition_fails_changes_no_item(failing_at: str) -> None:
    # Given a table with items, and a transaction of every kind of write with one condition that fails
    with _cheap_transactions() as (dynamodb, table):
        _seed(dynamodb, table)
        before = _everything(dynamodb, table)
        failing = {
            "ConditionCheck": {
                "TableName": table,
                "Key": _key("Z", "1"),
                "ConditionExpression": "attribute_exists(PK)",
            }
        }
        writes = _writes(table)
        items = [failing, *writes] if failing_at == "first" else [*writes, failing]
        # When it is sent
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as cancelled:
            dynamodb.transact_write_items(TransactItems=items)
        # Then it is cancelled for that condition, and every item is as it was (none added or lost)
        reasons = [reason["Code"] for reason in cancelled.value.response["CancellationReasons"]]
        assert reasons.count("ConditionalCheckFailed") == 1
        assert _everything(dynamodb, table) == before


def test_a_transaction_refused_while_applied_changes_no_item() -> None:
    # Given a table with items, and a transaction whose last write is invalid (ADD to a string)
    with _cheap_transactions() as (dynamodb, table):
        _seed(dynamodb, table)
        before = _everything(dynamodb, table)
        invalid = {
            "Update": {
                "TableName": table,
                "Key": _key("B", "1"),
                "UpdateExpression": "ADD tag :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
        # When it is sent (the writes before it are applied by then, in moto)
        with pytest.raises(dynamodb.exceptions.ClientError):
            dynamodb.transact_write_items(TransactItems=[*_writes(table)[:3], invalid])
        # Then nothing it wrote is left
        assert _everything(dynamodb, table) == before
        # And an item named twice in one transaction is refused, with nothing written either
        twice = [*_writes(table)[:2], {"Delete": {"TableName": table, "Key": _key("A", "1")}}]
        with pytest.raises(dynamodb.exceptions.ClientError, match="multiple operations"):
            dynamodb.transact_write_items(TransactItems=twice)
        assert _everything(dynamodb, table) == before


def test_a_transaction_that_succeeds_applies_every_write_without_copying_the_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb.models.table import Table

    # Given a table with items, and every deep copy moto's DynamoDB makes recorded
    with _cheap_transactions() as (dynamodb, table):
        _seed(dynamodb, table)
        tables_copied: list[bool] = []  # for each deep copy of a table: whether it made a new table
        deepcopy = dynamodb_models.copy.deepcopy

        def recorded(value: Any, memo: Any = None) -> Any:
            result = deepcopy(value, memo)
            if isinstance(value, Table):
                tables_copied.append(result is not value)
            return result

        monkeypatch.setattr(dynamodb_models.copy, "deepcopy", recorded)
        # When a transaction of every kind of write succeeds
        dynamodb.transact_write_items(TransactItems=_writes(table))
        # Then each write is applied
        items = {(i["PK"]["S"], i["SK"]["S"]): i for i in _everything(dynamodb, table)}
        assert set(items) == {("A", "1"), ("A", "3"), ("B", "1"), ("C", "1")}
        assert items[("A", "1")] == {**_key("A", "1"), "hits": {"N": "6"}}
        assert items[("B", "1")]["hits"] == {"N": "100"}
        # And moto's "backup" of the table was the table itself: no copy of it was made
        assert tables_copied == [False] * len(_writes(table))
        monkeypatch.undo()
    # And once undone, moto copies tables again as it did
    assert "__deepcopy__" not in vars(Table)


# -- DynamoDB answers without moto's shape walk (answers_without_shape_walk) ---------------------------


def _answers(dynamodb: Any, table: str) -> list[Any]:
    """What each reading call answers (request ids and dates aside)."""
    key = _key("A", "1")
    calls = [
        dynamodb.get_item(TableName=table, Key=key),
        dynamodb.query(
            TableName=table, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "A"}}
        ),
        dynamodb.scan(TableName=table),
        dynamodb.batch_get_item(RequestItems={table: {"Keys": [key, _key("B", "1")]}}),
        dynamodb.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": key}}]),
        dynamodb.update_item(
            TableName=table,
            Key=_key("B", "1"),
            UpdateExpression="SET seen = :yes",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
            ReturnValues="ALL_NEW",
        ),
    ]
    for answer in calls:
        answer.pop("ResponseMetadata", None)
    return calls


def test_dynamodb_answers_are_the_same_without_the_shape_walk() -> None:
    # Given items with every kind of attribute value, nested, and one with binary values
    with _cheap_transactions() as (dynamodb, table):
        every_kind = {
            **_key("A", "1"),
            "s": {"S": "text"},
            "n": {"N": "12.5"},
            "ss": {"SS": ["a", "b"]},
            "ns": {"NS": ["1", "2"]},
            "null": {"NULL": True},
            "bool": {"BOOL": False},
            "m": {"M": {"inner": {"L": [{"S": "x"}, {"M": {"deep": {"N": "1"}}}, {"NULL": True}]}}},
            "empty_m": {"M": {}},
            "empty_l": {"L": []},
        }
        dynamodb.put_item(TableName=table, Item=every_kind)
        dynamodb.put_item(
            TableName=table,
            Item={
                **_key("B", "1"),
                "b": {"B": b"\x00\xffbytes"},
                "bs": {"BS": [b"one", b"two"]},
                "seen": {"BOOL": True},  # what the update below sets (both rounds read the same items)
            },
        )
        # When each reading call is answered by moto's serializer, then without its shape walk
        walked = _answers(dynamodb, table)
        restore = moto_bridge.answers_without_shape_walk()
        try:
            direct = _answers(dynamodb, table)
        finally:
            restore()
        # Then the answers are the same, binary values included
        assert direct == walked
        assert direct[0]["Item"] == every_kind
        assert direct[5]["Attributes"]["b"] == {"B": b"\x00\xffbytes"}
