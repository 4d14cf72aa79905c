"""The SNS message of an event: the JSON event, with attributes subscribers can filter on."""

from __future__ import annotations

from typing import Any


def publish_request(
    *,
    topic_arn: str,
    message: str,
    event_type: str,
    event_id: str,
    task_id: str,
    status: str | None,
) -> dict[str, Any]:
    """Keyword arguments for SNS Publish (attributes `event_type`, `task_id`, and `status` when the
    event has one; a FIFO topic groups by task and drops repeats of one event id)."""
    attributes: dict[str, Any] = {
        "event_type": {"DataType": "String", "StringValue": event_type},
        "task_id": {"DataType": "String", "StringValue": task_id},
    }
    if status:
        attributes["status"] = {"DataType": "String", "StringValue": status}
    request: dict[str, Any] = {"TopicArn": topic_arn, "Message": message, "MessageAttributes": attributes}
    if topic_arn.endswith(".fifo"):
        request["MessageGroupId"] = task_id
        request["MessageDeduplicationId"] = event_id
    return request
