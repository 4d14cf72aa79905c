"""Helpers for scheduler tests: scheduled tasks at an injected time, a moto state machine, counts."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from agent_tasks.models.audit import AuditEvent
from agent_tasks.models.executions import Execution
from agent_tasks.models.tasks import Task
from agent_tasks.schedules import next_fire_time
from agent_tasks.services.actor import Actor
from agent_tasks.store import audit as audit_store
from agent_tasks.store import executions as execution_store
from agent_tasks.store import tasks as task_store
from agent_tasks.store.dynamo import deserialize, serialize, table_name

OWNER = "user-sched"
CALLER = Actor(user_id=OWNER)
_PASS_DEFINITION = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


def serialize_moto_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make each moto request atomic, as each real AWS request is.

    In-process moto handles concurrent requests without a lock, and its TransactWriteItems
    deep-copies the table while other threads change it ("dictionary changed size during
    iteration"). Serialising single requests keeps every interleaving *between* requests, which
    is what concurrency tests are about.
    """
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    original = BotocoreStubber.process_request

    def atomic(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return original(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", atomic)


def fail_once(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> None:
    """Make `owner.name` raise on its first call only (a crash injected at one step)."""
    original = getattr(owner, name)
    calls = {"n": 0}

    def failing(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError(f"injected crash in {name}")
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, failing)


def use_pass_state_machine(monkeypatch: pytest.MonkeyPatch) -> str:
    """A moto state machine that does nothing, named by STATE_MACHINE_ARN (moto does not run it)."""
    from agent_tasks.settings import get_settings

    client = boto3.client("stepfunctions", region_name="us-east-1")
    arn = client.create_state_machine(
        name=f"agent-tasks-pass-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(_PASS_DEFINITION),
        roleArn="arn:aws:iam::123456789012:role/agent-tasks-test",
    )["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    get_settings.cache_clear()
    return arn


def workflow_names(state_machine_arn: str) -> list[str]:
    client = boto3.client("stepfunctions", region_name="us-east-1")
    pages = client.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn)
    return [execution["name"] for page in pages for execution in page["executions"]]


def scheduled_task_model(
    cron: str, *, created: datetime, timezone: str = "UTC", owner: str = OWNER, **fields: Any
) -> Task:
    """A scheduled task as the tasks service would make it at `created` (next_run_at included)."""
    values: dict[str, Any] = {
        "name": f"Scheduled {uuid.uuid4().hex[:10]}",
        "prompt_template": "Check the {{ topic }} dashboards.",
        "allowed_tools": ["read_file"],
        "sdk_options": {"max_turns": 5},
        "is_scheduled": True,
        "schedule_cron": cron,
        "schedule_timezone": timezone,
    }
    values.update(fields)
    task = Task.model_validate(
        {
            **values,
            "id": str(uuid.uuid4()),
            "owner_id": owner,
            "version": 1,
            "created_at": created,
            "updated_at": created,
        }
    )
    if task.is_due_indexed:
        task = task.model_copy(update={"next_run_at": next_fire_time(cron, timezone, after=created)})
    return task


def scheduled_task(cron: str, *, created: datetime, timezone: str = "UTC", **fields: Any) -> Task:
    """The same, stored with its name lock and audit event."""
    return _stored(scheduled_task_model(cron, created=created, timezone=timezone, **fields))


def one_time_task(run_at: datetime, *, created: datetime, owner: str = OWNER, **fields: Any) -> Task:
    """A stored one-time scheduled task (`run_at`, no cron), as the tasks service would make it."""
    template = scheduled_task_model("0 9 * * *", created=created, owner=owner, **fields)
    one_time = {"schedule_cron": None, "run_at": run_at, "next_run_at": run_at}
    return _stored(template.model_copy(update=one_time))


def _stored(task: Task) -> Task:
    """`task` stored with its name lock and its `task.created` audit event (at its created_at)."""
    audit = audit_store.new_event(
        actor_id=task.owner_id,
        owner_id=task.owner_id,
        action="task.created",
        resource_type="task",
        resource_id=task.id,
        at=task.created_at,
        request_id=None,
    )
    task_store.create(task, audit)
    return task


def audit_event(task_id: str, owner: str = OWNER) -> AuditEvent:
    return audit_store.new_event(
        actor_id=owner,
        owner_id=owner,
        action="task.updated",
        resource_type="task",
        resource_id=task_id,
        at=datetime.now(UTC),
        request_id=None,
    )


def executions_of(task_id: str) -> list[Execution]:
    """Every execution item of a task, oldest first."""
    items: list[Execution] = []
    key: dict[str, Any] | None = None
    while True:
        page, key = execution_store.list_for_task(task_id, limit=100, start_key=key)
        items.extend(page)
        if key is None:
            return sorted(items, key=lambda e: (e.created_at, e.id))


def stored_item(task_id: str) -> dict[str, Any]:
    """The task's raw item (index keys included)."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    item = client.get_item(TableName=table_name(), Key=task_store.task_key(task_id), ConsistentRead=True)
    return deserialize(item["Item"])


def audit_actions(owner: str = OWNER) -> list[dict[str, Any]]:
    events, _ = audit_store.list_events(owner, limit=500, start_key=None)
    return [event.model_dump(mode="json") for event in events]


def batch_put_tasks(tasks: list[Task]) -> None:
    """Write task items straight into the table, 25 at a time (setup for volume tests)."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    for start in range(0, len(tasks), 25):
        requests = [
            {"PutRequest": {"Item": serialize(task_store.to_item(task))}}
            for task in tasks[start : start + 25]
        ]
        pending: dict[str, Any] = {table_name(): requests}
        while pending:
            result = client.batch_write_item(RequestItems=pending)
            pending = result.get("UnprocessedItems") or {}
