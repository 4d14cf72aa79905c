"""When an execution ends: the signed webhook per notification_config, recorded, never failing it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from agent_tasks.services import workflow
from agent_tasks.settings import get_settings
from agent_tasks.store import executions as execution_store
from tests.support.executions import pending_execution, stored_task
from tests.support.webhook_receiver import WebhookReceiver, running_receiver

SECRET = "whsec-test-secret"


@pytest.fixture
def private_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The receiver listens on loopback, which only tests may allow."""
    monkeypatch.setenv("ENVIRONMENT", "local")  # the only environment that may allow it
    monkeypatch.setenv("ALLOW_PRIVATE_NETWORK", "true")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def _finish(execution_id: str) -> None:
    workflow.prepare(execution_id)
    assert workflow.run_agent(execution_id) == {"next": "finalize"}
    workflow.finalize(execution_id, {})


@pytest.mark.usefixtures("private_network")
def test_a_completed_execution_is_posted_signed_to_the_webhook_and_recorded(aws: dict[str, str]) -> None:
    with running_receiver(WebhookReceiver(secret=SECRET, statuses=[200])) as receiver:
        # Given a task that wants to hear about completed runs
        task = stored_task(
            notification_config={"webhook_url": receiver.url, "on": ["completed"]}, webhook_secret=SECRET
        )
        execution_id = pending_execution(task)
        # When it runs to the end
        _finish(execution_id)
    # Then the receiver got one signed ExecutionSucceeded event with the totals
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.signature_valid
    event = json.loads(request.body)
    assert event["type"] == "ExecutionSucceeded"
    assert event["execution_id"] == execution_id
    assert event["message_count"] == 8
    assert event["tool_call_count"] == 3
    # And the execution records both deliveries
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert [(n.destination, n.status) for n in execution.notifications] == [
        ("eventbridge", "delivered"),
        ("webhook", "delivered"),
    ]


@pytest.mark.usefixtures("private_network")
def test_a_failed_delivery_is_recorded_and_the_execution_still_completes(aws: dict[str, str]) -> None:
    with running_receiver(WebhookReceiver(secret=SECRET, statuses=[404])) as receiver:
        task = stored_task(notification_config={"webhook_url": receiver.url}, webhook_secret=SECRET)
        execution_id = pending_execution(task)
        _finish(execution_id)
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.status == "completed"
    webhook = execution.notifications[-1]
    assert webhook.destination == "webhook"
    assert webhook.status == "failed"
    assert webhook.webhook is not None
    assert webhook.webhook.last_status_code == 404


@pytest.mark.usefixtures("private_network")
def test_an_outcome_the_task_did_not_ask_for_sends_nothing(aws: dict[str, str]) -> None:
    with running_receiver(WebhookReceiver(secret=SECRET, statuses=[200])) as receiver:
        task = stored_task(
            notification_config={"webhook_url": receiver.url, "on": ["failed"]}, webhook_secret=SECRET
        )
        execution_id = pending_execution(task)
        _finish(execution_id)
    assert receiver.requests == []
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert [n.destination for n in execution.notifications] == ["eventbridge"]


@pytest.mark.usefixtures("private_network")
def test_the_webhook_carries_the_structured_output(aws: dict[str, str]) -> None:
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
        # When it runs to the end with the real client
        workflow.prepare(execution_id)
        provider = AnthropicProvider(api_key="sk-ant-test", base_url=model.url, max_retries=0)
        assert workflow.run_agent(execution_id, provider=provider) == {"next": "finalize"}
        workflow.finalize(execution_id, {})
    # Then the signed webhook body carries the validated object
    event = json.loads(receiver.requests[0].body)
    assert event["structured_output"] == {"ok": True}
