"""Notifications in the local cloud: an execution's end is one event on the bus; the bus's rule
invokes the notifier asynchronously (its retry policy and dead-letter queue, as Lambda does), and the
notifier delivers to the task's webhook and SNS topic and records every attempt."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx2 as httpx
import pytest

from agent_tasks.settings import get_settings
from tests.support.executions import api_client, finished, pending_execution, stored_task
from tests.support.polling import wait_until
from tests.support.tls import tls_files
from tests.support.webhook_receiver import WebhookReceiver, running_receiver

USER = "notify-user"
DLQ_NAME = "agent-tasks-notifier-dlq-local"


@pytest.fixture(autouse=True)
def private_network(local_cloud: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The receivers listen on loopback, which only the local cloud's tests may allow."""
    monkeypatch.setenv("ALLOW_PRIVATE_NETWORK", "true")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def http(local_cloud: Any) -> Iterator[httpx.Client]:
    with api_client(local_cloud, USER) as client:
        yield client


@pytest.fixture
def topic_queue() -> Iterator[tuple[str, Callable[[], list[dict[str, Any]]]]]:
    """A user's SNS topic with an SQS subscription, and a reader of what the queue received."""
    name = f"run-results-{uuid.uuid4().hex[:8]}"
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    received: list[dict[str, Any]] = []

    def read() -> list[dict[str, Any]]:
        found = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        received.extend(json.loads(m["Body"]) for m in found.get("Messages", []))
        return received

    return topic_arn, read


def _create(http: httpx.Client, notification_config: dict[str, Any]) -> dict[str, Any]:
    created = http.post(
        "/api/v1/tasks",
        json={
            "name": f"Notify {uuid.uuid4().hex[:8]}",
            "prompt_template": "Write a short status note.",
            "allowed_tools": ["read_file", "write_file", "list_files"],
            "sdk_options": {"max_turns": 10},
            "notification_config": notification_config,
        },
    )
    assert created.status_code == 201, created.text
    task: dict[str, Any] = created.json()
    return task


def _run(http: httpx.Client, task: dict[str, Any]) -> dict[str, Any]:
    started = http.post(f"/api/v1/tasks/{task['id']}/execute", json={"variables": {}})
    assert started.status_code == 202, started.text
    done = finished(http, started.json()["id"])
    assert done["status"] == "completed", done
    return done


def _deliveries(http: httpx.Client, execution_id: str, count: int) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = http.get(f"/api/v1/task-executions/{execution_id}/deliveries").json()[
            "items"
        ]
        return items if len(items) >= count else None

    found = wait_until(enough, what=f"{count} delivery records")
    assert isinstance(found, list)
    return found


def test_a_completed_run_notifies_the_webhook_and_the_sns_topic(
    local_cloud: Any,
    http: httpx.Client,
    topic_queue: tuple[str, Callable[[], list[dict[str, Any]]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    topic_arn, read_topic = topic_queue
    # An HTTPS receiver, its certificate from a CA the notifier's environment names (SSL_CERT_FILE)
    tls = tls_files()
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_file))
    https = WebhookReceiver(secret="", statuses=[200], tls=tls.server_context())
    with running_receiver(https) as receiver:
        assert receiver.url.startswith("https://localhost:")
        # Given a task with an HTTPS webhook and an SNS topic, created through the API
        task = _create(http, {"webhook_url": receiver.url, "sns_topic_arn": topic_arn, "on": ["completed"]})
        receiver.secret = task["webhook_secret"]
        # When it runs to the end
        done = _run(http, task)
        # Then the notifier delivers the end to both, and records each delivery
        deliveries = _deliveries(http, done["id"], 2)
        wait_until(lambda: receiver.requests, what="the webhook")
    assert {(d["destination"], d["status"], d["attempt"]) for d in deliveries} == {
        ("webhook", "delivered", 1),
        ("sns", "delivered", 1),
    }
    [request] = receiver.requests
    assert request.signature_valid
    event = json.loads(request.body)
    assert (event["type"], event["execution_id"]) == ("ExecutionSucceeded", done["id"])
    assert {d["event_id"] for d in deliveries} == {event["event_id"]}
    # And the topic's subscriber read the same event, with attributes to filter on
    [message] = wait_until(read_topic, what="the SNS message in the subscribed queue")
    assert json.loads(message["Message"])["event_id"] == event["event_id"]
    attributes = {k: v["Value"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {"event_type": "ExecutionSucceeded", "task_id": task["id"], "status": "completed"}
    # And another user cannot read the deliveries
    with api_client(local_cloud, "someone-else") as other:
        assert other.get(f"/api/v1/task-executions/{done['id']}/deliveries").status_code == 404


def test_a_failing_receiver_is_retried_by_the_notifier_then_lands_in_the_dead_letter_queue(
    local_cloud: Any, http: httpx.Client
) -> None:
    with running_receiver(WebhookReceiver(secret="", statuses=[503])) as receiver:
        # Given a task whose receiver always answers 503
        task = _create(http, {"webhook_url": receiver.url})
        receiver.secret = task["webhook_secret"]
        # When it runs to the end
        done = _run(http, task)
        # Then the notifier tried three times (its invocation and Lambda's two retries), one event id
        deliveries = _deliveries(http, done["id"], 3)
    assert [(d["attempt"], d["status"], d["status_code"]) for d in deliveries] == [
        (1, "failed", 503),
        (2, "failed", 503),
        (3, "failed", 503),
    ]
    event_ids = {r.headers["x-agenttasks-event-id"] for r in receiver.requests}
    assert event_ids == {deliveries[0]["event_id"]}
    assert [r.headers["x-agenttasks-delivery-attempt"] for r in receiver.requests] == ["1", "2", "3"]
    # And the event, with the last error, is in the notifier's dead-letter queue
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=DLQ_NAME)["QueueUrl"]
    dead: list[dict[str, Any]] = []

    def landed() -> dict[str, Any] | None:
        found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        dead.extend(json.loads(m["Body"]) for m in found.get("Messages", []))
        mine = [d for d in dead if d["requestPayload"]["detail"].get("execution_id") == done["id"]]
        return mine[0] if mine else None

    record = wait_until(landed, what="the dead-letter record")
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"]["detail"]["event_id"] == deliveries[0]["event_id"]
    assert record["responsePayload"]["errorType"] == "DeliveryFailed"


def test_only_if_and_the_slack_format(local_cloud: Any, http: httpx.Client) -> None:
    with running_receiver(WebhookReceiver(secret="", statuses=[200])) as receiver:
        # Given a task whose only_if is false for a completed run, and a Slack task whose only_if is true
        quiet = _create(http, {"webhook_url": receiver.url, "only_if": "status == 'failed'"})
        slack = _create(
            http, {"webhook_url": receiver.url, "format": "slack", "only_if": "status == 'completed'"}
        )
        receiver.secret = slack["webhook_secret"]  # a Slack message is signed too (Slack ignores it)
        # When each runs to the end
        skipped = _deliveries(http, _run(http, quiet)["id"], 1)
        sent = _deliveries(http, _run(http, slack)["id"], 1)
    # Then the first was not sent (recorded as skipped, with why), the second went as a Slack message
    assert [(d["status"], d["error"]) for d in skipped] == [
        ("skipped", "only_if was not truthy (False)"),
    ]
    assert [(d["destination"], d["status"]) for d in sent] == [("slack", "delivered")]
    [request] = receiver.requests
    payload = json.loads(request.body)
    assert payload["text"] == f":white_check_mark: {slack['name']}: completed"
    assert [block["type"] for block in payload["blocks"]][:2] == ["header", "section"]


def test_cancel_answers_without_waiting_on_any_delivery(local_cloud: Any, http: httpx.Client) -> None:
    hold = threading.Event()
    with running_receiver(WebhookReceiver(secret="whsec-cancel", statuses=[200], hold=hold)) as receiver:
        try:
            # Given a pending execution of a task whose receiver does not answer until released
            task = stored_task(
                USER,
                notification_config={"webhook_url": receiver.url, "on": ["cancelled"]},
                webhook_secret="whsec-cancel",
            )
            execution_id = pending_execution(task)
            # When it is cancelled
            cancelled = http.post(f"/api/v1/task-executions/{execution_id}/cancel")
            # Then the cancel answered while no delivery had been answered
            assert cancelled.status_code == 200, cancelled.text
            assert cancelled.json()["status"] == "cancelled"
            assert receiver.answered == 0
            # And the notifier's request reaches the receiver apart from the cancel
            wait_until(lambda: receiver.requests, what="the notifier's request")
        finally:
            hold.set()
        wait_until(lambda: receiver.answered == 1, what="the held request to be answered")
