"""Sessions and their messages, in order; content too large for an item goes to S3.

session  PK=SESSION#<id>  SK=SESSION
message  PK=SESSION#<id>  SK=MSG#<seq, zero-padded>
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from agent_tasks import aws
from agent_tasks.errors import ConflictError
from agent_tasks.models.executions import Session
from agent_tasks.models.transcript import TranscriptMessage
from agent_tasks.retention import object_tagging
from agent_tasks.settings import get_settings
from agent_tasks.store.dynamo import (
    TransactionConflict,
    deserialize,
    get_item,
    is_condition_failure,
    raise_translated,
    serialize,
    serialize_value,
    table_name,
    transact,
)

# A DynamoDB item holds at most 400 KB; content above this goes to S3 and the item keeps its key.
INLINE_CONTENT_LIMIT_BYTES = 300_000
SEQ_DIGITS = 8


def session_key(session_id: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": f"SESSION#{session_id}"}, "SK": {"S": "SESSION"}}


def message_sort_key(seq: int) -> str:
    return f"MSG#{seq:0{SEQ_DIGITS}d}"


def spill_key(owner_id: str, session_id: str, seq: int) -> str:
    return f"transcripts/{owner_id}/{session_id}/{seq:0{SEQ_DIGITS}d}.json"


def create(session: Session) -> None:
    try:
        aws.dynamodb().put_item(
            TableName=table_name(),
            Item=serialize(
                {
                    "PK": f"SESSION#{session.id}",
                    "SK": "SESSION",
                    "entity": "session",
                    **session.model_dump(mode="json"),
                }
            ),
            ConditionExpression="attribute_not_exists(PK)",
        )
    except ClientError as error:
        if is_condition_failure(error):
            raise ConflictError("a session with this id already exists") from error
        raise_translated(error)


def get(session_id: str) -> Session | None:
    item = get_item(session_key(session_id))
    return Session.model_validate(item) if item else None


def set_message_count(session_id: str, count: int, updated_at: str) -> None:
    try:
        aws.dynamodb().update_item(
            TableName=table_name(),
            Key=session_key(session_id),
            UpdateExpression="SET message_count = :count, updated_at = :at",
            ExpressionAttributeValues={":count": serialize_value(count), ":at": {"S": updated_at}},
        )
    except ClientError as error:
        raise_translated(error)


def put_message(session: Session, message: TranscriptMessage, *, also: Sequence[dict[str, Any]] = ()) -> None:
    """Store one message (a retried store of the same seq writes the same item again).

    `also`: TransactWriteItems entries written atomically with it (a model call's spend roll-up),
    only if the message is new, so a retried store adds them once.
    """
    body = message.model_dump(mode="json")
    content = json.dumps(body["content"], separators=(",", ":")).encode()
    item: dict[str, Any] = {
        "PK": f"SESSION#{session.id}",
        "SK": message_sort_key(message.seq),
        "entity": "session_message",
        "owner_id": session.owner_id,
        **body,
    }
    if session.expires_at is not None:
        item["expires_at"] = session.expires_at  # the TTL of everything of the execution
    if len(content) > INLINE_CONTENT_LIMIT_BYTES:
        key = spill_key(session.owner_id, session.id, message.seq)
        tagging = object_tagging(session.expires_at, message.created_at)
        aws.s3().put_object(
            Bucket=get_settings().bucket_name,
            Key=key,
            Body=content,
            ContentType="application/json",
            ServerSideEncryption="AES256",
            **tagging,
        )
        item["content"] = []
        item["content_s3_key"] = key
        item["content_bytes"] = len(content)
    if also:
        put = {
            "TableName": table_name(),
            "Item": serialize(item),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
        try:
            transact([{"Put": put}, *also])
        except TransactionConflict as conflict:
            if conflict.reasons[:1] != ["ConditionalCheckFailed"]:
                raise
            # Stored (with its roll-up) by an earlier attempt: that store counted it, once.
        return
    try:
        aws.dynamodb().put_item(TableName=table_name(), Item=serialize(item))
    except ClientError as error:
        raise_translated(error)


def _message_from_item(item: dict[str, Any]) -> TranscriptMessage:
    key = item.pop("content_s3_key", None)
    if key:
        body = aws.s3().get_object(Bucket=get_settings().bucket_name, Key=str(key))["Body"].read()
        item["content"] = json.loads(body)
    for extra in ("PK", "SK", "entity", "owner_id", "content_bytes", "expires_at"):
        item.pop(extra, None)
    return TranscriptMessage.model_validate(item)


def list_messages(session_id: str, *, limit: int, after_seq: int = 0) -> tuple[list[TranscriptMessage], bool]:
    """Messages with seq > after_seq, in order, at most `limit`; and whether more follow."""
    arguments: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": "PK = :pk AND SK BETWEEN :from AND :to",
        "ExpressionAttributeValues": {
            ":pk": {"S": f"SESSION#{session_id}"},
            ":from": {"S": message_sort_key(after_seq + 1)},
            ":to": {"S": message_sort_key(10**SEQ_DIGITS - 1)},
        },
        "Limit": limit + 1,
    }
    messages: list[TranscriptMessage] = []
    client = aws.dynamodb()
    while len(messages) <= limit:
        try:
            result = client.query(**arguments)
        except ClientError as error:
            raise_translated(error)
        messages.extend(_message_from_item(deserialize(item)) for item in result.get("Items", []))
        if "LastEvaluatedKey" not in result:
            break
        arguments["ExclusiveStartKey"] = result["LastEvaluatedKey"]
    return messages[:limit], len(messages) > limit


def all_messages(session_id: str) -> list[TranscriptMessage]:
    """The whole transcript, in order (the loop resumes from it)."""
    messages: list[TranscriptMessage] = []
    after = 0
    while True:
        page, more = list_messages(session_id, limit=500, after_seq=after)
        messages.extend(page)
        if not more or not page:
            return messages
        after = page[-1].seq


def last_seq(session_id: str) -> int:
    """The seq of the newest stored message (0 when none): one key read of one item, newest first."""
    try:
        result = aws.dynamodb().query(
            TableName=table_name(),
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={":pk": {"S": f"SESSION#{session_id}"}, ":prefix": {"S": "MSG#"}},
            ProjectionExpression="SK",
            ScanIndexForward=False,
            Limit=1,
        )
    except ClientError as error:
        raise_translated(error)
    items = result.get("Items", [])
    return int(items[0]["SK"]["S"].removeprefix("MSG#")) if items else 0


def count_messages(session_id: str) -> int:
    arguments: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": f"SESSION#{session_id}"}, ":prefix": {"S": "MSG#"}},
        "Select": "COUNT",
    }
    total = 0
    client = aws.dynamodb()
    while True:
        result = client.query(**arguments)
        total += int(result.get("Count", 0))
        if "LastEvaluatedKey" not in result:
            return total
        arguments["ExclusiveStartKey"] = result["LastEvaluatedKey"]
