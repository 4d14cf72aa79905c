"""The cached model catalogue and the daily retiring-model check's marks.

catalogue     PK=CATALOG#models  SK=CATALOG          (expires_at: DynamoDB TTL; also checked on read)
daily check   PK=CATALOG#retiring-check SK=<date>   (one tick a day wins it)
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from agent_tasks import aws
from agent_tasks.store.dynamo import (
    deserialize,
    is_condition_failure,
    raise_translated,
    serialize,
    table_name,
)

_CATALOGUE_KEY = {"PK": {"S": "CATALOG#models"}, "SK": {"S": "CATALOG"}}


def get_cached(now: datetime) -> dict[str, Any] | None:
    """The cached catalogue document, or None when there is none or it has expired."""
    try:
        answer = aws.dynamodb().get_item(TableName=table_name(), Key=_CATALOGUE_KEY)
    except ClientError as error:
        raise_translated(error)
    item = answer.get("Item")
    if item is None:
        return None
    plain = deserialize(item)
    if int(plain.get("expires_at") or 0) <= now.timestamp():
        return None  # TTL deletion is lazy: an expired item may still be there
    document: dict[str, Any] = json.loads(plain["document"])
    return document


def put_cached(document: dict[str, Any], *, expires_at: datetime) -> None:
    item = {
        "PK": "CATALOG#models",
        "SK": "CATALOG",
        "entity": "model_catalogue",
        "document": json.dumps(document, separators=(",", ":")),
        "expires_at": int(expires_at.timestamp()),
    }
    try:
        aws.dynamodb().put_item(TableName=table_name(), Item=serialize(item))
    except ClientError as error:
        raise_translated(error)


def claim_daily_check(day: str, now: datetime) -> bool:
    """True for the first caller of the day, False for every later one."""
    item = {
        "PK": "CATALOG#retiring-check",
        "SK": day,
        "entity": "retiring_check",
        "claimed_at": now.isoformat(),
        "expires_at": int((now + timedelta(days=7)).timestamp()),
    }
    try:
        aws.dynamodb().put_item(
            TableName=table_name(), Item=serialize(item), ConditionExpression="attribute_not_exists(PK)"
        )
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise_translated(error)
    return True
