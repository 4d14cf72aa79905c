"""Webhook signatures (sign / verify), the notification event, backoff."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from agent_tasks.notifications import (
    EVENT_TYPE_BY_STATUS,
    ExponentialBackoff,
    NotificationEvent,
    eventbridge_entry,
    new_webhook_secret,
    sign,
    signature_header,
    sns_publish_request,
    verify,
)

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


def test_eventbridge_entry_carries_the_event_as_detail() -> None:
    event = make_event()
    entry = eventbridge_entry(event, bus_name="agent-tasks-dev")
    assert entry["Source"] == "agent-tasks"
    assert entry["DetailType"] == "ExecutionSucceeded"
    assert entry["EventBusName"] == "agent-tasks-dev"
    assert NotificationEvent.model_validate_json(entry["Detail"]) == event
    assert json.loads(event.body())["event_id"] == event.event_id


def test_sns_request_deduplicates_on_fifo_topics() -> None:
    event = make_event()
    plain = sns_publish_request(event, topic_arn="arn:aws:sns:us-east-1:123456789012:t")
    fifo = sns_publish_request(event, topic_arn="arn:aws:sns:us-east-1:123456789012:t.fifo")
    assert "MessageDeduplicationId" not in plain
    assert fifo["MessageDeduplicationId"] == event.event_id
    assert plain["MessageAttributes"]["event_type"]["StringValue"] == "ExecutionSucceeded"


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    highest = ExponentialBackoff(base_seconds=0.5, max_seconds=4.0, random_fraction=lambda: 1.0)
    lowest = ExponentialBackoff(base_seconds=0.5, max_seconds=4.0, random_fraction=lambda: 0.0)
    assert [highest(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert [lowest(n) for n in range(1, 6)] == [0.25, 0.5, 1.0, 2.0, 2.0]


@pytest.mark.parametrize("header", ["t=²,v1=abc", "t=1750000000,v1=é", "t=,v1=", "garbage", ""])
def test_a_crafted_signature_header_is_refused_not_a_crash(header: str) -> None:
    assert verify(SECRET, header, BODY, now=NOW) is False
