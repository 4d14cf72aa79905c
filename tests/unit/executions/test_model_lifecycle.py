"""Models that retire under stored tasks: the daily check, and Prepare refusing a retired model."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from agent_tasks.agent import model_catalog
from agent_tasks.models.common import utc_now
from agent_tasks.services import workflow
from agent_tasks.services.model_retirement import MODEL_RETIRING, check_retiring_models
from agent_tasks.services.workflow import preparing
from agent_tasks.store import audit as audit_store
from agent_tasks.store import executions as execution_store
from agent_tasks.store import model_catalog as catalog_store
from agent_tasks.store import sessions as session_store
from agent_tasks.store import tasks as task_store
from tests.support.executions import pending_execution, stored_task
from tests.support.messages_server import MessagesServer

NOW = datetime(2027, 1, 2, 6, 0, tzinfo=UTC)  # claude-opus-4-5 retires on 2027-01-22


@pytest.fixture
def bus_queue(aws: dict[str, str]) -> str:
    """An SQS queue that receives every ModelRetiring event from the default bus."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    events = boto3.client("events", region_name="us-east-1")
    url = sqs.create_queue(QueueName="retiring")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="retiring", EventPattern=json.dumps({"detail-type": [MODEL_RETIRING]}))
    events.put_targets(Rule="retiring", Targets=[{"Id": "q", "Arn": arn}])
    return url


def bus_events(url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs", region_name="us-east-1").receive_message(
        QueueUrl=url, MaxNumberOfMessages=10
    )
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_the_daily_check_audits_and_announces_tasks_whose_model_retires_within_30_days(
    aws: dict[str, str], bus_queue: str
) -> None:
    # Given a task on a model retiring in 20 days, one on a current model, and a deleted one
    retiring = stored_task("alice", sdk_options={"model": "claude-opus-4-5"})
    stored_task("alice", sdk_options={"model": "claude-sonnet-5-5"})
    deleted = stored_task("bob", sdk_options={"model": "claude-opus-4-5-20251101"})
    task_store.soft_delete(
        deleted,
        deleted.model_copy(update={"is_deleted": True, "version": 2}),
        audit_store.new_event(
            actor_id="bob",
            owner_id="bob",
            action="task.deleted",
            resource_type="task",
            resource_id=deleted.id,
            at=utc_now(),
            request_id=None,
        ),
    )

    # When the check runs twice on the same day
    first = check_retiring_models(NOW)
    again = check_retiring_models(NOW + timedelta(hours=3))

    # Then only the first ran, and found the one live task
    assert first is not None
    assert first.tasks == 1
    assert "claude-opus-4-5" in first.models
    assert again is None
    # And it left an audit event and a ModelRetiring event naming the date and the replacement
    events, _ = audit_store.list_events("alice", limit=10, start_key=None)
    [audit] = [e for e in events if e.action == "task.model_retiring"]
    assert audit.resource_id == retiring.id
    assert audit.details["retires_at"] == "2027-01-22"
    assert audit.details["replacement"] == "claude-opus-5-5"
    [event] = bus_events(bus_queue)
    assert event["detail-type"] == MODEL_RETIRING
    assert event["detail"]["task_id"] == retiring.id
    assert (
        event["detail"]["warning"]
        == "model 'claude-opus-4-5' retires on 2027-01-22; consider claude-opus-5-5"
    )
    # And the next day it runs again
    assert check_retiring_models(NOW + timedelta(days=1)) is not None


def test_the_scheduler_runs_the_check_on_its_first_tick_of_the_day(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.events import EVENTS_DIR
    from tests.support.fixtures import LambdaClient, load_function

    stored_task("alice", sdk_options={"model": "claude-opus-4-5"})
    module = load_function("scheduler")
    monkeypatch.setattr(module, "clock", lambda: NOW)
    event = json.loads((EVENTS_DIR / "scheduled_event.json").read_text())
    first = LambdaClient(module, "scheduler")(event)
    second = LambdaClient(module, "scheduler")(event)
    assert first["retiring_model_tasks"] == 1
    assert "retiring_model_tasks" not in second


def retire_in_cache(model: str) -> None:
    """The cached Models API catalogue says `model` has retired (as after a refresh)."""
    document = model_catalog.snapshot().model_dump(mode="json")
    for entry in document["models"]:
        if entry["id"] == model:
            entry.update(lifecycle="retired", retires_at="2026-12-01")
    catalog_store.put_cached(document, expires_at=utc_now() + timedelta(hours=1))
    model_catalog.forget_process_cache()


def test_an_execution_whose_model_retired_fails_at_prepare_with_that_reason(aws: dict[str, str]) -> None:
    # Given a pending execution of a task whose model has since retired
    task = stored_task("alice", sdk_options={"model": "claude-sonnet-5"})
    execution_id = pending_execution(task)
    retire_in_cache("claude-sonnet-5")

    # When Prepare runs, then the workflow's failure path records the reason
    with pytest.raises(workflow.AgentRunFailed) as raised:
        workflow.prepare(execution_id)
    workflow.mark_failed(
        execution_id,
        {
            "Error": "AgentRunFailed",
            "Cause": json.dumps({"errorType": "AgentRunFailed", "errorMessage": str(raised.value)}),
        },
    )

    # Then it failed naming the retirement and the replacement, and no session was made
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.status == "failed"
    assert execution.error_message == (
        "model 'claude-sonnet-5' was retired on 2026-12-01; use claude-sonnet-5-5 instead"
    )
    assert execution.session_id is None
    assert session_store.get(str(uuid.uuid5(preparing.SESSION_NAMESPACE, execution_id))) is None


def test_prepare_refreshes_the_catalogue_from_the_models_api_and_caches_it(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_tasks.settings import get_settings

    # Given the anthropic provider against the local server, whose Models API says the model retired
    with MessagesServer() as server:
        for entry in server.models:
            if entry["id"] == "claude-sonnet-5":
                entry.update(lifecycle="retired", retires_at="2026-12-01")
        monkeypatch.setenv("MODEL_PROVIDER", "anthropic")
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-local")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        get_settings.cache_clear()
        task = stored_task("alice", sdk_options={"model": "claude-sonnet-5"})
        first, second = pending_execution(task), pending_execution(task)

        # When two executions prepare
        for execution_id in (first, second):
            with pytest.raises(workflow.AgentRunFailed, match="was retired on 2026-12-01"):
                workflow.prepare(execution_id)

        # Then the Models API was read once (the table caches it) and no model was called
        assert [p.split("?")[0] for p in server.model_requests] == ["/v1/models"]
        assert server.requests == []
    cached = catalog_store.get_cached(utc_now())
    assert cached is not None
    assert cached["source"] == "models_api"
