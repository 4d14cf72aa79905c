"""The test support's fix of moto's TransactWriteItems (tests/support/moto_speed.py): one copy of the
table per transaction instead of one per item, and a cancelled transaction still rolls back whole."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models.table import Table

from agent_tasks import aws as aws_clients


def _put(table: str, pk: str, **condition: str) -> dict[str, Any]:
    return {"Put": {"TableName": table, "Item": {"PK": {"S": pk}, "SK": {"S": "x"}}, **condition}}


def test_a_transaction_of_five_items_copies_the_table_once(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the aws fixture's moto (with the fix) and a count of the table copies made
    copies: list[Table] = []
    deepcopy = copy.deepcopy

    def counting(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, Table):
            copies.append(value)
        return deepcopy(value, memo)

    monkeypatch.setattr(copy, "deepcopy", counting)
    # When a transaction writes five items to the table
    table = aws["TABLE_NAME"]
    aws_clients.dynamodb().transact_write_items(TransactItems=[_put(table, f"item-{n}") for n in range(5)])
    # Then the table was copied once (moto alone copies it five times), and the items are written
    assert len(copies) == 1
    scanned = aws_clients.dynamodb().scan(TableName=table)["Items"]
    assert sorted(item["PK"]["S"] for item in scanned) == [f"item-{n}" for n in range(5)]


def test_a_cancelled_transaction_still_writes_nothing(aws: dict[str, str]) -> None:
    # Given a stored item
    table = aws["TABLE_NAME"]
    client = aws_clients.dynamodb()
    client.put_item(TableName=table, Item={"PK": {"S": "taken"}, "SK": {"S": "x"}})
    # When a transaction writes two new items and then one whose condition fails
    writes = [
        _put(table, "new-1"),
        _put(table, "new-2"),
        _put(table, "taken", ConditionExpression="attribute_not_exists(PK)"),
    ]
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(TransactItems=writes)
    # Then it is cancelled and the table holds only what it held before
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [item["PK"]["S"] for item in client.scan(TableName=table)["Items"]] == ["taken"]
