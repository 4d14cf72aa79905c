"""Webhook signatures (sign / verify), the notification event, backoff."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from agent_tasks.models.notifications import EVENT_TYPE_BY_STATUS
from agent_tasks.notify.events import NotificationEvent
from agent_tasks.notify.signing import new_webhook_secret, sign, signature_header, verify
from agent_tasks.notify.sns import publish_request

SECRET = "whsec-test"
NOW = 1_750_000_000
BODY = b'{"type":"ExecutionSucceeded"}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == expected
    assert signature_header(SECRET, NOW, BODY) == f"t={NOW},v1={expected}"


def test_verify_accepts_a_fresh_valid_signature() -> None:
    assert verify(SECRET, signature_header(SECRET, NOW, BODY), BODY, now=NOW + 299)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        ("other-secret", BODY, NOW),  # wrong secret
        (SECRET, BODY + b" ", NOW),  # body changed
        (SECRET, BODY, NOW + 301),  # too old: a replay
        (SECRET, BODY, NOW - 301),  # from the future
    ],
)
def test_verify_refuses_a_bad_signature(secret: str, body: bytes, now: int) -> None:
    assert not verify(secret, signature_header(SECRET, NOW, BODY), body, now=now)


@pytest.mark.parametrize("header", ["", "garbage", f"t={NOW}", "v1=abc", f"t=x,v1={sign(SECRET, NOW, BODY)}"])
def test_verify_refuses_malformed_headers(header: str) -> None:
    assert not verify(SECRET, header, BODY, now=NOW)


def test_verify_accepts_any_of_several_signatures_during_rotation() -> None:
    header = f"t={NOW},v1={sign('old-secret', NOW, BODY)}, v1={sign(SECRET, NOW, BODY)}"
    assert verify(SECRET, header, BODY, now=NOW)


def test_new_secrets_are_long_and_distinct() -> None:
    secrets = {new_webhook_secret() for _ in range(20)}
    assert len(secrets) == 20
    assert all(len(s) >= 40 for s in secrets)


def make_event(status: str = "completed") -> NotificationEvent:
    return NotificationEvent.for_execution(
        execution_id="exec-1",
        task_id="task-1",
        owner_id="user-1",
        status=status,  # type: ignore[arg-type]
        occurred_at=datetime(2025, 6, 1, 8, 1, 35, tzinfo=UTC),
        task_name="Nightly check",
        message_count=6,
        tool_call_count=3,
        cost_usd=0.018,
    )


def test_event_id_is_stable_per_execution_and_status() -> None:
    assert make_event().event_id == make_event().event_id
    assert make_event().event_id != make_event("failed").event_id
    assert make_event("timed_out").type == "ExecutionTimedOut"
    assert set(EVENT_TYPE_BY_STATUS.values()) == {
        "ExecutionSucceeded",
        "ExecutionFailed",
        "ExecutionCancelled",
        "ExecutionTimedOut",
        "ExecutionExpired",
    }


def test_the_event_body_round_trips_with_its_id() -> None:
    event = make_event()
    assert NotificationEvent.model_validate_json(event.body()) == event
    assert json.loads(event.body())["event_id"] == event.event_id


def _sns_request(event: NotificationEvent, topic_arn: str) -> dict[str, Any]:
    return publish_request(
        topic_arn=topic_arn,
        message=event.model_dump_json(),
        event_type=event.type,
        event_id=event.event_id,
        task_id=event.task_id,
        status=event.status,
    )


def test_sns_request_has_filterable_attributes_and_deduplicates_on_fifo_topics() -> None:
    # Given an execution's end
    event = make_event()
    # When its SNS requests are made for a plain and a FIFO topic
    plain = _sns_request(event, "arn:aws:sns:us-east-1:123456789012:t")
    fifo = _sns_request(event, "arn:aws:sns:us-east-1:123456789012:t.fifo")
    # Then subscribers can filter on the event type, the task and the status
    assert "MessageDeduplicationId" not in plain
    assert fifo["MessageDeduplicationId"] == event.event_id
    assert fifo["MessageGroupId"] == event.task_id
    attributes = {k: v["StringValue"] for k, v in plain["MessageAttributes"].items()}
    assert attributes == {"event_type": "ExecutionSucceeded", "task_id": event.task_id, "status": "completed"}


@pytest.mark.parametrize("header", ["t=²,v1=abc", "t=1750000000,v1=é", "t=,v1=", "garbage", ""])
def test_a_crafted_signature_header_is_refused_not_a_crash(header: str) -> None:
    assert verify(SECRET, header, BODY, now=NOW) is False
