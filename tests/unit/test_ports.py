"""Side effects go through ports: only adapters (and the store, aws.py) touch boto3; fakes stand in."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agent_tasks.services import executions as service
from agent_tasks.services.actor import Actor
from agent_tasks.settings import get_settings
from agent_tasks.store import executions as execution_store
from tests.support.executions import pending_execution, stored_task
from tests.support.fixtures import FakePorts
from tests.support.template import PROJECT_ROOT

CORE = PROJECT_ROOT / "layers" / "core" / "agent_tasks"
_AWS_SDK = re.compile(r"^\s*(import|from)\s+(boto3|botocore)\b", re.MULTILINE)


def test_only_adapters_the_store_and_aws_py_import_the_aws_sdk() -> None:
    # Given every Python file of the core package and of the functions
    files = [*CORE.rglob("*.py"), *(PROJECT_ROOT / "functions").rglob("*.py")]

    def allowed(path: Path) -> bool:
        parts = path.relative_to(CORE).parts if path.is_relative_to(CORE) else ()
        # vault.py (KMS envelope encryption of tool secrets, issue 18) is an adapter in all but its
        # place; moving it under adapters/ is left to do.
        return bool(parts) and (parts[0] in {"adapters", "store"} or parts in {("aws.py",), ("vault.py",)})

    # When they are searched for boto3 / botocore imports / Then only the allowed ones have any
    offenders = [str(path.relative_to(PROJECT_ROOT)) for path in files if _AWS_SDK.search(path.read_text())]
    assert [path for path in offenders if not allowed(PROJECT_ROOT / path)] == []


def test_a_cancel_stops_the_workflow_and_announces_through_the_ports(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    # Given a pending execution (its workflow started through the fake)
    execution_id = pending_execution(stored_task())
    # When its owner cancels it
    cancelled = service.cancel(Actor(user_id="user-1"), execution_id)
    # Then the workflow port was asked to stop it, and the end was published on the event port
    assert cancelled.status == "cancelled"
    assert fake_ports.workflows.stopped == [execution_id]
    [(detail_type, detail)] = fake_ports.event_bus.published
    assert detail_type == "ExecutionCancelled"
    assert json.loads(detail)["execution_id"] == execution_id
    assert [(n.destination, n.status) for n in cancelled.notifications] == [("eventbridge", "delivered")]


def test_a_workflow_that_cannot_start_fails_its_execution(aws: dict[str, str], fake_ports: FakePorts) -> None:
    # Given a workflow port that refuses every start
    fake_ports.workflows.refuse_with = "ExecutionLimitExceeded"
    task = stored_task()
    # When the task is executed
    execution = service.execute(Actor(user_id="user-1"), task.id, {})
    # Then the execution is failed with the reason, never left pending
    stored = execution_store.get(execution.id)
    assert stored is not None
    assert stored.status == "failed"
    assert stored.error_message == "the workflow could not be started (ExecutionLimitExceeded)"


def test_a_refused_event_is_recorded_not_raised(aws: dict[str, str], fake_ports: FakePorts) -> None:
    # Given an event bus that refuses everything
    fake_ports.event_bus.refuse_with = "InternalFailure"
    execution_id = pending_execution(stored_task())
    # When the execution ends / Then the refusal is on its record and the end stands
    cancelled = service.cancel(Actor(user_id="user-1"), execution_id)
    assert [(n.status, n.detail) for n in cancelled.notifications] == [("failed", "InternalFailure")]


def test_secrets_come_from_the_secure_value_port(
    fake_ports: FakePorts, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_tasks.agent.providers import resolve_api_key
    from agent_tasks.services.paging import cursor_signing_key

    # Given parameter names in the settings and their values behind the port (no AWS at all)
    monkeypatch.setenv("ANTHROPIC_API_KEY_PARAMETER", "/agent-tasks/dev/anthropic")
    monkeypatch.setenv("CURSOR_SIGNING_KEY_PARAMETER", "/agent-tasks/dev/cursor-key")
    fake_ports.secure_values.values.update(
        {"/agent-tasks/dev/anthropic": "sk-test", "/agent-tasks/dev/cursor-key": "k" * 32}
    )
    get_settings.cache_clear()
    cursor_signing_key.cache_clear()
    try:
        # When the service resolves them / Then they are the port's values
        assert resolve_api_key(get_settings()) == "sk-test"
        assert cursor_signing_key() == b"k" * 32
    finally:
        get_settings.cache_clear()
        cursor_signing_key.cache_clear()
