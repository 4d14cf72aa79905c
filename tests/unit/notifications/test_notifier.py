"""The notifier: an execution's end is one event on the bus; the notifier delivers it (webhook, Slack,
SNS) per the task's notification_config, records every attempt beside the execution, and fails
the invocation (so Lambda retries it) only for a failure a later attempt may fix."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from agent_tasks.models.common import utc_now
from agent_tasks.models.notifications import SCHEDULE_PAUSED, Delivery
from agent_tasks.models.tasks import Task
from agent_tasks.services import notifier, workflow
from agent_tasks.store import deliveries as delivery_store
from agent_tasks.store import executions as execution_store
from tests.support.deliveries import earlier_deliveries
from tests.support.executions import pending_execution, stored_task
from tests.support.fixtures import FakePorts
from tests.support.webhook_receiver import WebhookReceiver, running_receiver

SECRET = "whsec-test-secret"
TOPIC = "arn:aws:sns:us-east-1:123456789012:run-results"

pytestmark = pytest.mark.usefixtures("private_network")


def _finish(execution_id: str) -> None:
    workflow.prepare(execution_id)
    assert workflow.run_agent(execution_id) == {"next": "finalize"}
    workflow.finalize(execution_id, {})


def _finished_run(config: dict[str, Any], **task_fields: Any) -> tuple[Task, str]:
    """A stored task with this notification_config (signing with SECRET) and one run of it, ended."""
    task = stored_task(notification_config=config, webhook_secret=SECRET, **task_fields)
    execution_id = pending_execution(task)
    _finish(execution_id)
    return task, execution_id


def _recorded(execution_id: str) -> list[Delivery]:
    """The execution's delivery records, oldest first (a test's few fit one page)."""
    records, _ = delivery_store.list_page(execution_id, limit=100, start_key=None)
    return records


def _put(ports: FakePorts) -> list[tuple[str, dict[str, Any]]]:
    """What was put on the bus: (detail-type, detail)."""
    return [(kind, json.loads(detail)) for kind, detail in ports.event_bus.published]


def _ended(ports: FakePorts) -> tuple[str, dict[str, Any]]:
    ends = [(kind, detail) for kind, detail in _put(ports) if kind.startswith("Execution")]
    assert len(ends) == 1, ends
    return ends[0]


def test_a_completed_run_puts_one_event_and_the_notifier_delivers_it_signed(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    with running_receiver(WebhookReceiver(secret=SECRET, statuses=[200])) as receiver:
        # Given a task that wants to hear about completed runs / When it runs to the end
        _, execution_id = _finished_run({"webhook_url": receiver.url, "on": ["completed"]})
        # Then the run put one ExecutionSucceeded event and made no HTTP request
        kind, detail = _ended(fake_ports)
        assert kind == "ExecutionSucceeded"
        assert receiver.requests == []
        # When the notifier is handed the event
        made = notifier.handle(kind, detail)
    # Then the receiver got it, signed, with the totals
    assert [(d.destination, d.status, d.attempt) for d in made] == [("webhook", "delivered", 1)]
    [request] = receiver.requests
    assert request.signature_valid
    assert request.headers["x-agenttasks-event-id"] == detail["event_id"]
    event = json.loads(request.body)
    assert (event["type"], event["execution_id"]) == ("ExecutionSucceeded", execution_id)
    assert (event["message_count"], event["tool_call_count"]) == (8, 3)
    # And the attempt is recorded beside the execution, which records the bus publish
    [recorded] = _recorded(execution_id)
    assert (recorded.status, recorded.target, recorded.event_id) == (
        "delivered",
        "127.0.0.1",
        detail["event_id"],
    )
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert [(n.destination, n.status) for n in execution.notifications] == [("eventbridge", "delivered")]


def test_a_failing_receiver_fails_the_invocation_and_its_retry_carries_the_same_event_id(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    with running_receiver(WebhookReceiver(secret=SECRET, statuses=[503, 200])) as receiver:
        # Given a task whose receiver answers 503, then 200
        _, execution_id = _finished_run({"webhook_url": receiver.url})
        kind, detail = _ended(fake_ports)
        # When the notifier delivers the event: the first attempt fails and the invocation raises
        with pytest.raises(notifier.DeliveryFailed, match="HTTP 503"):
            notifier.handle(kind, detail)
        # And Lambda invokes it again with the same event
        retried = notifier.handle(kind, detail)
        # And once more (e.g. a duplicate invocation): the destination already has it
        again = notifier.handle(kind, detail)
    # Then two requests were sent, with one event id and attempts 1 and 2
    assert [r.headers["x-agenttasks-event-id"] for r in receiver.requests] == [detail["event_id"]] * 2
    assert [r.headers["x-agenttasks-delivery-attempt"] for r in receiver.requests] == ["1", "2"]
    assert [(d.status, d.attempt) for d in retried] == [("delivered", 2)]
    assert again == []
    # And both attempts are recorded, the first as a retryable failure
    recorded = _recorded(execution_id)
    assert [(d.attempt, d.status, d.status_code, d.retryable) for d in recorded] == [
        (1, "failed", 503, True),
        (2, "delivered", 200, False),
    ]


def test_the_duplicate_check_is_exact_after_more_than_200_earlier_deliveries(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    with running_receiver(WebhookReceiver(secret=SECRET, statuses=[503, 200])) as receiver:
        # Given a run whose execution already has 250 delivery records of other events
        _, execution_id = _finished_run({"webhook_url": receiver.url})
        earlier_deliveries(execution_id, 250)
        kind, detail = _ended(fake_ports)
        # When its end is delivered: the first attempt fails, the retry delivers it
        with pytest.raises(notifier.DeliveryFailed):
            notifier.handle(kind, detail)
        retried = notifier.handle(kind, detail)
        # And the event comes once more (a duplicate invocation)
        again = notifier.handle(kind, detail)
    # Then the retry was numbered 2, and the duplicate sent nothing: the check saw the event's own
    # attempts, not the first 200 records of the execution
    assert [(d.status, d.attempt) for d in retried] == [("delivered", 2)]
    assert again == []
    assert [r.headers["x-agenttasks-delivery-attempt"] for r in receiver.requests] == ["1", "2"]


def test_two_invocations_of_one_event_never_make_the_same_attempt(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    with running_receiver(WebhookReceiver(secret=SECRET, statuses=[200])) as receiver:
        # Given an ended run, and another invocation of its event that has just claimed attempt 1
        _, execution_id = _finished_run({"webhook_url": receiver.url})
        kind, detail = _ended(fake_ports)
        now = utc_now()
        assert delivery_store.claim(
            execution_id, detail["event_id"], "webhook", 1, now_epoch=int(now.timestamp()), expires_at=None
        )
        # When this invocation handles the event while that one is still sending
        made = notifier.handle(kind, detail, now=now)
        # Then DynamoDB refused it the attempt: nothing was sent twice
        assert made == []
        assert receiver.requests == []
        # And once that claim is older than an invocation can live, a retry takes the next attempt
        later = now + timedelta(seconds=delivery_store.CLAIM_HELD_SECONDS)
        [delivered] = notifier.handle(kind, detail, now=later)
    assert (delivered.status, delivered.attempt) == ("delivered", 2)
    assert [r.headers["x-agenttasks-delivery-attempt"] for r in receiver.requests] == ["2"]


def test_a_refused_delivery_is_recorded_and_not_retried(aws: dict[str, str], fake_ports: FakePorts) -> None:
    with running_receiver(WebhookReceiver(secret=SECRET, statuses=[404])) as receiver:
        _finished_run({"webhook_url": receiver.url})
        # When the receiver answers 404 / Then the notifier records it and does not raise
        [made] = notifier.handle(*_ended(fake_ports))
    assert (made.status, made.status_code, made.retryable) == ("failed", 404, False)


def test_an_outcome_the_task_did_not_ask_for_sends_nothing(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    with running_receiver(WebhookReceiver(secret=SECRET, statuses=[200])) as receiver:
        _, execution_id = _finished_run({"webhook_url": receiver.url, "on": ["failed"]})
        assert notifier.handle(*_ended(fake_ports)) == []
    assert receiver.requests == []
    assert _recorded(execution_id) == []


@pytest.mark.parametrize(
    ("only_if", "sent"),
    [
        ("status == 'completed' && tool_call_count > `2`", True),
        ("cost_usd > `1000`", False),
    ],
)
def test_only_if_decides_on_the_event(
    aws: dict[str, str], fake_ports: FakePorts, only_if: str, sent: bool
) -> None:
    with running_receiver(WebhookReceiver(secret=SECRET, statuses=[200])) as receiver:
        # Given a task that notifies only when its condition holds on the event
        _finished_run({"webhook_url": receiver.url, "only_if": only_if})
        # When the notifier handles the run's end
        [made] = notifier.handle(*_ended(fake_ports))
    # Then it is sent only when the condition is truthy, and a skip is recorded with why
    assert len(receiver.requests) == (1 if sent else 0)
    assert made.status == ("delivered" if sent else "skipped")
    if not sent:
        assert made.error is not None
        assert "only_if was not truthy" in made.error


def test_the_slack_format_sends_an_incoming_webhook_payload(
    aws: dict[str, str], fake_ports: FakePorts, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_tasks.settings import get_settings

    monkeypatch.setenv("API_BASE_URL", "https://api.example.com")
    get_settings.cache_clear()
    with running_receiver(WebhookReceiver(secret=SECRET, statuses=[200])) as receiver:
        # Given a task that sends Slack messages
        _, execution_id = _finished_run(
            {"webhook_url": receiver.url, "format": "slack"}, name="Nightly check"
        )
        # When the notifier delivers the run's end
        [made] = notifier.handle(*_ended(fake_ports))
    # Then the body is a Slack message: fallback text, the task, status, duration, cost, the answer, links
    assert made.destination == "slack"
    payload = json.loads(receiver.requests[0].body)
    assert payload["text"] == ":white_check_mark: Nightly check: completed"
    blocks = payload["blocks"]
    assert [b["type"] for b in blocks] == ["header", "section", "section", "context"]
    fields = [f["text"].split("\n")[0] for f in blocks[1]["fields"]]
    assert fields == ["*Task*", "*Status*", "*Duration*", "*Cost*"]
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.result_data is not None
    assert blocks[2]["text"]["text"] == (execution.result_data.final_text or "")[:600]
    links = blocks[3]["elements"][0]["text"]
    assert f"<https://api.example.com/api/v1/task-executions/{execution_id}|Execution>" in links


def test_sns_gets_the_event_with_filterable_attributes(aws: dict[str, str], fake_ports: FakePorts) -> None:
    # Given a task with an SNS topic
    task, execution_id = _finished_run({"sns_topic_arn": TOPIC, "on": ["completed"]})
    # When the notifier delivers the run's end
    [made] = notifier.handle(*_ended(fake_ports))
    # Then the topic got the JSON event with event type, task and status attributes
    assert (made.destination, made.status, made.target) == ("sns", "delivered", TOPIC)
    [request] = fake_ports.topics.published
    assert request["TopicArn"] == TOPIC
    assert json.loads(request["Message"])["execution_id"] == execution_id
    attributes = {k: v["StringValue"] for k, v in request["MessageAttributes"].items()}
    assert attributes == {"event_type": "ExecutionSucceeded", "task_id": task.id, "status": "completed"}


@pytest.mark.parametrize(
    ("refusal", "raises"), [(("AuthorizationError", False), False), (("Throttled", True), True)]
)
def test_an_sns_refusal_is_recorded_with_its_reason_and_only_a_transient_one_is_retried(
    aws: dict[str, str], fake_ports: FakePorts, refusal: tuple[str, bool], raises: bool
) -> None:
    # Given a topic that refuses the notifier
    fake_ports.topics.refuse_with = refusal
    _, execution_id = _finished_run({"sns_topic_arn": TOPIC})
    # When the notifier publishes / Then a permanent refusal is recorded, a transient one raises too
    if raises:
        with pytest.raises(notifier.DeliveryFailed, match=refusal[0]):
            notifier.handle(*_ended(fake_ports))
    else:
        notifier.handle(*_ended(fake_ports))
    [recorded] = _recorded(execution_id)
    assert (recorded.status, recorded.error, recorded.retryable) == ("failed", refusal[0], refusal[1])


def test_a_task_event_goes_to_the_tasks_that_ask_for_it(aws: dict[str, str], fake_ports: FakePorts) -> None:
    with running_receiver(WebhookReceiver(secret=SECRET, statuses=[200])) as receiver:
        # Given a task that asks for schedule_paused, and one that does not
        wants = stored_task(
            notification_config={"webhook_url": receiver.url, "on": ["schedule_paused"]},
            webhook_secret=SECRET,
        )
        ignores = stored_task(notification_config={"webhook_url": receiver.url}, webhook_secret=SECRET)
        detail = {
            "task_id": wants.id,
            "owner_id": wants.owner_id,
            "task_name": wants.name,
            "reason": "5 failed",
        }
        # When each task's SchedulePaused event reaches the notifier
        made = notifier.handle(SCHEDULE_PAUSED, detail)
        ignored = notifier.handle(SCHEDULE_PAUSED, {**detail, "task_id": ignores.id})
    # Then only the task that asked got it, signed, with the event's detail
    assert [d.status for d in made] == ["delivered"]
    assert ignored == []
    [request] = receiver.requests
    body = json.loads(request.body)
    assert (body["type"], body["task_id"], body["detail"]["reason"]) == (
        "SchedulePaused",
        wants.id,
        "5 failed",
    )
    assert request.signature_valid


def test_an_event_naming_another_owners_task_is_not_delivered(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    with running_receiver(WebhookReceiver(secret=SECRET, statuses=[200])) as receiver:
        task = stored_task(
            notification_config={"webhook_url": receiver.url, "on": ["schedule_paused"]},
            webhook_secret=SECRET,
        )
        assert notifier.handle(SCHEDULE_PAUSED, {"task_id": task.id, "owner_id": "mallory"}) == []
    assert receiver.requests == []


def test_the_webhook_carries_the_structured_output(aws: dict[str, str], fake_ports: FakePorts) -> None:
    from agent_tasks.agent.providers import AnthropicProvider
    from tests.support.messages_server import MessagesServer

    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    with (
        running_receiver(WebhookReceiver(secret=SECRET, statuses=[200])) as receiver,
        MessagesServer() as model,
    ):
        # Given a task with an output_schema whose model answers with a matching object
        model.reply_text('{"ok": true}')
        task = stored_task(
            output_schema=schema,
            notification_config={"webhook_url": receiver.url, "on": ["completed"]},
            webhook_secret=SECRET,
        )
        execution_id = pending_execution(task)
        # When it runs to the end with the real client, and the notifier delivers its end
        workflow.prepare(execution_id)
        provider = AnthropicProvider(api_key="sk-ant-test", base_url=model.url, max_retries=0)
        assert workflow.run_agent(execution_id, provider=provider) == {"next": "finalize"}
        workflow.finalize(execution_id, {})
        notifier.handle(*_ended(fake_ports))
    # Then the signed webhook body carries the validated object
    event = json.loads(receiver.requests[0].body)
    assert event["structured_output"] == {"ok": True}


def test_an_approval_request_is_delivered_and_recorded_on_its_execution(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    from agent_tasks.models.notifications import APPROVAL_REQUESTED

    with running_receiver(WebhookReceiver(secret=SECRET, statuses=[200])) as receiver:
        # Given a task that asks for approval requests, and a run of it waiting on one
        task = stored_task(
            notification_config={"webhook_url": receiver.url, "on": ["approval_requested"]},
            webhook_secret=SECRET,
        )
        execution_id = pending_execution(task)
        detail = {
            "task_id": task.id,
            "owner_id": task.owner_id,
            "execution_id": execution_id,
            "approval_id": "appr-1",
            "tool": "bash",
            "input": {"command": "deploy"},
            "text": "May I deploy?",
            "expires_at": "2026-03-02T10:00:00+00:00",
            "approve_url": "https://api.example.com/approve",
            "deny_url": "https://api.example.com/deny",
        }
        # When the ApprovalRequested event reaches the notifier (twice: a duplicate put)
        made = notifier.handle(APPROVAL_REQUESTED, detail)
        again = notifier.handle(APPROVAL_REQUESTED, detail)
    # Then it was sent once, and recorded on the execution
    assert [d.status for d in made] == ["delivered"]
    assert again == []
    body = json.loads(receiver.requests[0].body)
    assert (body["type"], body["execution_id"], body["detail"]["approve_url"]) == (
        "ApprovalRequested",
        execution_id,
        "https://api.example.com/approve",
    )
    assert [d.event_type for d in _recorded(execution_id)] == ["ApprovalRequested"]


def test_a_budget_event_about_no_task_is_dropped(aws: dict[str, str], fake_ports: FakePorts) -> None:
    from agent_tasks.models.notifications import BUDGET_REACHED

    assert notifier.handle(BUDGET_REACHED, {"owner_id": "user-1", "task_id": None, "level": "cap"}) == []
