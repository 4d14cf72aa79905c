"""DynamoDB plumbing shared by the entity stores: (de)serialisation, transactions, error mapping."""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, NoReturn

from boto3.dynamodb.types import DYNAMODB_CONTEXT, TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from agent_tasks import aws
from agent_tasks.errors import (
    ConflictError,
    ContentTooLargeError,
    DomainError,
    PreconditionFailedError,
    ThrottledError,
    ValidationFailedError,
)
from agent_tasks.models.common import Counted
from agent_tasks.settings import get_settings

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_THROTTLING = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}

Item = dict[str, Any]
AttributeMap = dict[str, Any]


def table_name() -> str:
    return get_settings().table_name


_SMALLEST_NUMBER = Decimal("1e-120")  # DynamoDB cannot store magnitudes below 1e-130


def _number(text: str) -> Decimal:
    number = Decimal(text)
    return Decimal(0) if abs(number) < _SMALLEST_NUMBER else number


def _to_dynamo_values(value: Any) -> Any:
    # DynamoDB numbers must be Decimals; a JSON round trip turns floats into them exactly as written.
    return json.loads(json.dumps(value, default=str), parse_float=_number)


class _NotPlain(Exception):
    """A value outside JSON's own types: `serialize` takes the general path for the whole item."""


_LARGEST_INTEGER = 10**38  # DynamoDB keeps 38 digits; a larger int takes the general path (which refuses it)


def _attribute(value: Any) -> Any:
    """A JSON-typed value as an attribute value, exactly as the JSON round trip and TypeSerializer
    would make it, without the round trip (the stores write what `model_dump(mode="json")` gives)."""
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is bool:
        return {"BOOL": value}
    if kind is int and -_LARGEST_INTEGER < value < _LARGEST_INTEGER:
        return {"N": str(value)}
    if kind is float and math.isfinite(value):
        return {"N": str(DYNAMODB_CONTEXT.create_decimal(_number(repr(value))))}
    if value is None:
        return {"NULL": True}
    if kind is dict:
        if not all(type(key) is str for key in value):
            raise _NotPlain
        return {"M": {key: _attribute(each) for key, each in value.items()}}
    if kind is list or kind is tuple:
        return {"L": [_attribute(each) for each in value]}
    raise _NotPlain


def serialize(item: Mapping[str, Any]) -> AttributeMap:
    """A plain dict (None values dropped) as DynamoDB attribute values."""
    kept = {k: v for k, v in item.items() if v is not None}
    try:
        if all(type(key) is str for key in kept):
            return {key: _attribute(value) for key, value in kept.items()}
    except _NotPlain:
        pass
    plain = _to_dynamo_values(kept)
    return {k: _serializer.serialize(v) for k, v in plain.items()}


def serialize_value(value: Any) -> Any:
    try:
        return _attribute(value)
    except _NotPlain:
        return _serializer.serialize(_to_dynamo_values(value))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, set):
        return sorted(_plain(v) for v in value)
    return value


def _plain_number(text: str) -> int | float:
    if len(text) < 19 and text.isascii() and (text.isdigit() or (text[:1] == "-" and text[1:].isdigit())):
        return int(text)  # what the Decimal would give, without making it
    number: int | float = _plain(_deserializer.deserialize({"N": text}))
    return number


def _value(attribute: Any) -> Any:
    """An attribute value as `_plain(TypeDeserializer().deserialize(...))` makes it, the common types
    directly (a list page deserialises thousands of them); sets and binaries as before."""
    if len(attribute) == 1:
        ((kind, raw),) = attribute.items()
        if kind == "S":
            return raw
        if kind == "N":
            return _plain_number(raw)
        if kind == "M":
            return {key: _value(each) for key, each in raw.items()}
        if kind == "L":
            return [_value(each) for each in raw]
        if kind == "BOOL":
            return raw
        if kind == "NULL":
            return None
    return _plain(_deserializer.deserialize(attribute))


def deserialize(attributes: Mapping[str, Any]) -> Item:
    return {k: _value(v) for k, v in attributes.items()}


class TransactionConflict(Exception):
    """A transaction was cancelled; `reasons` holds each item's cancellation code, in order."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons


_TOO_LARGE = (
    "what this request would store is larger than DynamoDB allows "
    "(400 KB an item, 2 KB a partition key, 1 KB a sort key); send less"
)


def translate(error: ClientError) -> DomainError | None:
    code = error.response.get("Error", {}).get("Code", "")
    if code in _THROTTLING:
        return ThrottledError("the service is busy; retry shortly")
    if code == "ValidationException":
        # DynamoDB says "ValidationException" for an item or key over its size limits, and for input
        # it cannot take; only its message tells which. Either way the request, not the service, is at
        # fault: 413 or 422, never a 500.
        if "size" in str(error.response.get("Error", {}).get("Message", "")).lower():
            return ContentTooLargeError(_TOO_LARGE)
        return ValidationFailedError("the request holds a value the store cannot take")
    return None


def raise_translated(error: ClientError) -> NoReturn:
    """Re-raise a ClientError as the domain error it means (throttling), or as it is."""
    raise (translate(error) or error) from error


# A transaction DynamoDB cancelled only because another one held an item (e.g. two writes of one
# user's task counts at once) is tried again; a failed condition never is.
TRANSACTION_ATTEMPTS = 3
_RETRIED_CANCELLATIONS = frozenset({"TransactionConflict"})


def transact(items: Sequence[Mapping[str, Any]], *, token: str | None = None) -> None:
    """TransactWriteItems; cancellations become TransactionConflict, throttling a ThrottledError.
    A cancellation by a conflicting transaction alone is retried (TRANSACTION_ATTEMPTS, jittered)."""
    arguments: dict[str, Any] = {"TransactItems": list(items)}
    if token:
        arguments["ClientRequestToken"] = token
    for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
        try:
            aws.dynamodb().transact_write_items(**arguments)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                reasons = [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]
                if "ValidationError" in reasons:  # an item of the transaction over DynamoDB's limits
                    raise ContentTooLargeError(_TOO_LARGE) from error
                retried = set(reasons) & _RETRIED_CANCELLATIONS and "ConditionalCheckFailed" not in reasons
                if retried and attempt < TRANSACTION_ATTEMPTS:
                    time.sleep(random.uniform(0.02, 0.1) * attempt)  # noqa: S311 - jitter, not a secret
                    continue
                raise TransactionConflict(reasons) from error
            if (mapped := translate(error)) is not None:
                raise mapped from error
            raise
        else:
            return


def get_item(key: AttributeMap, *, projection: Sequence[str] = (), consistent: bool = True) -> Item | None:
    """One item by its key (strongly consistent unless asked otherwise), optionally only some fields."""
    arguments: dict[str, Any] = {"TableName": table_name(), "Key": key, "ConsistentRead": consistent}
    if projection:
        names = {f"#p{index}": name for index, name in enumerate(projection)}
        arguments["ProjectionExpression"] = ", ".join(names)
        arguments["ExpressionAttributeNames"] = names
    try:
        result = aws.dynamodb().get_item(**arguments)
    except ClientError as error:
        raise_translated(error)
    item = result.get("Item")
    return deserialize(item) if item else None


def batch_get(keys: Sequence[AttributeMap]) -> list[Item]:
    """The items of `keys` that exist (any order), strongly consistent; unprocessed keys are asked again."""
    found: list[Item] = []
    pending: list[AttributeMap] = list(keys)
    client = aws.dynamodb()
    while pending:
        request: Any = {table_name(): {"Keys": pending[:100], "ConsistentRead": True}}
        pending = pending[100:]
        try:
            result = client.batch_get_item(RequestItems=request)
        except ClientError as error:
            raise_translated(error)
        answered: Any = result
        found.extend(deserialize(item) for item in answered.get("Responses", {}).get(table_name(), []))
        pending.extend(answered.get("UnprocessedKeys", {}).get(table_name(), {}).get("Keys", []))
    return found


def _partition_query(
    partition: tuple[str, str],
    sort_prefix: str,
    *,
    index: str | None,
    filter_expression: str | None = None,
    names: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    attribute, value = partition
    sort_attribute = "GSI1SK" if attribute == "GSI1PK" else "GSI2SK" if attribute == "GSI2PK" else "SK"
    arguments: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": attribute, **(names or {})},
        "ExpressionAttributeValues": {":pk": {"S": value}, **(values or {})},
    }
    if sort_prefix:
        arguments["KeyConditionExpression"] += " AND begins_with(#sk, :prefix)"
        arguments["ExpressionAttributeNames"]["#sk"] = sort_attribute
        arguments["ExpressionAttributeValues"][":prefix"] = {"S": sort_prefix}
    if index:
        arguments["IndexName"] = index
    if filter_expression:
        arguments["FilterExpression"] = filter_expression
    return arguments


def query_page(
    partition: tuple[str, str],
    sort_prefix: str = "",
    *,
    index: str | None = None,
    limit: int,
    start_key: AttributeMap | None = None,
    newest_first: bool = True,
    filter_expression: str | None = None,
    names: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    projection: Sequence[str] = (),
    consistent: bool = False,
) -> tuple[list[Item], AttributeMap | None]:
    """One Query of a partition (attribute, value) whose sort key starts with `sort_prefix`: at most
    `limit` items read, after `start_key`; returns the items and DynamoDB's key to go on from (or None).
    `consistent`: a strongly consistent read (the table's own key only; an index's reads never are)."""
    arguments = _partition_query(
        partition, sort_prefix, index=index, filter_expression=filter_expression, names=names, values=values
    )
    if consistent:
        arguments["ConsistentRead"] = True
    arguments["ScanIndexForward"] = not newest_first
    arguments["Limit"] = limit
    if start_key:
        arguments["ExclusiveStartKey"] = start_key
    if projection:
        fields = {f"#p{index}": name for index, name in enumerate(projection)}
        arguments["ProjectionExpression"] = ", ".join(fields)
        arguments["ExpressionAttributeNames"].update(fields)
    try:
        result = aws.dynamodb().query(**arguments)
    except ClientError as error:
        raise_translated(error)
    return [deserialize(item) for item in result.get("Items", [])], result.get("LastEvaluatedKey")


def query_pages(
    partition: tuple[str, str],
    sort_prefix: str = "",
    *,
    page_size: int = 1000,
    newest_first: bool = True,
    consistent: bool = False,
) -> Iterator[list[Item]]:
    """Every page of a Query of a partition (as `query_page`), one list of items a page."""
    key: AttributeMap | None = None
    while True:
        rows, key = query_page(
            partition,
            sort_prefix,
            limit=page_size,
            start_key=key,
            newest_first=newest_first,
            consistent=consistent,
        )
        yield rows
        if key is None:
            return


def count(
    partition: tuple[str, str],
    sort_prefix: str = "",
    *,
    index: str | None = None,
    filter_expression: str | None = None,
    names: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    at_most: int | None = None,
) -> Counted:
    """How many items a partition holds under `sort_prefix` (COUNT queries: no items come back).

    A COUNT query still reads every item it counts (1 MB a call, read units by size), so a partition
    that grows without bound (a schedule's executions, a user's audit trail) is counted only up to
    `at_most` items read: beyond it the count is a lower bound (`exact` False). It counts newest first,
    as the lists page, so a bounded count covers the items their first pages show."""
    arguments = _partition_query(
        partition, sort_prefix, index=index, filter_expression=filter_expression, names=names, values=values
    )
    arguments["Select"] = "COUNT"
    arguments["ScanIndexForward"] = False
    total = 0
    read = 0
    client = aws.dynamodb()
    while True:
        if at_most is not None:
            # One item past the bound tells "exactly at_most" from "more than at_most".
            arguments["Limit"] = at_most + 1 - read
        try:
            result = client.query(**arguments)
        except ClientError as error:
            raise_translated(error)
        total += int(result.get("Count", 0))
        read += int(result.get("ScannedCount", 0))
        if "LastEvaluatedKey" not in result:
            return Counted(total, exact=True)
        if at_most is not None and read > at_most:
            return Counted(total, exact=False)
        arguments["ExclusiveStartKey"] = result["LastEvaluatedKey"]


def write_batch(entries: Sequence[AttributeMap], *, delete: bool = False) -> None:
    """BatchWriteItem in chunks of 25: puts of items, or (`delete`) deletes by key; unprocessed ones
    are sent again."""
    requests: list[Any] = [
        {"DeleteRequest": {"Key": e}} if delete else {"PutRequest": {"Item": e}} for e in entries
    ]
    client = aws.dynamodb()
    while requests:
        chunk, requests = requests[:25], requests[25:]
        try:
            result = client.batch_write_item(RequestItems={table_name(): chunk})
        except ClientError as error:
            raise_translated(error)
        requests.extend(result.get("UnprocessedItems", {}).get(table_name(), []))


def is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def raise_conflict(
    reasons: list[str], messages: Sequence[type[DomainError] | tuple[type[DomainError], str]]
) -> None:
    """Turn the first failed condition of a transaction into the domain error listed at its position."""
    for reason, meaning in zip(reasons, messages, strict=False):
        if reason == "ConditionalCheckFailed":
            if isinstance(meaning, tuple):
                raise meaning[0](meaning[1])
            raise meaning("the item changed or does not exist")
    raise ConflictError("the change conflicted with another one; retry")


__all__ = [
    "ConflictError",
    "PreconditionFailedError",
    "TransactionConflict",
    "batch_get",
    "count",
    "deserialize",
    "get_item",
    "query_page",
    "raise_conflict",
    "serialize",
    "serialize_value",
    "table_name",
    "transact",
    "write_batch",
]
