"""Helpers for execution tests: a stored task and a pending execution, straight through the stores."""

from __future__ import annotations

import uuid
from typing import Any

from agent_tasks.models.common import utc_now
from agent_tasks.models.executions import Execution
from agent_tasks.models.tasks import Task
from agent_tasks.services.actor import Actor
from agent_tasks.services.executions import task_snapshot
from agent_tasks.store import audit as audit_store
from agent_tasks.store import executions as execution_store
from agent_tasks.store import tasks as task_store

FILE_TOOLS = ["read_file", "write_file", "list_files"]


def stored_task(owner: str = "user-1", **fields: Any) -> Task:
    """A task written with its name lock and audit event, as the tasks API would."""
    now = utc_now()
    values: dict[str, Any] = {
        "name": f"Summarise {uuid.uuid4().hex[:8]}",
        "prompt_template": "Summarise the {{ topic }} notes for {{ audience }}.",
        "allowed_tools": FILE_TOOLS,
        "sdk_options": {"max_turns": 10},
    }
    values.update(fields)
    task = Task.model_validate(
        {
            **values,
            "id": str(uuid.uuid4()),
            "owner_id": owner,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        },
        context={"allow_private_network": True},
    )
    audit = audit_store.new_event(
        actor_id=owner,
        owner_id=owner,
        action="task.created",
        resource_type="task",
        resource_id=task.id,
        at=now,
        request_id=None,
    )
    task_store.create(task, audit)
    return task


def execution_of(task: Task, **fields: Any) -> Execution:
    """An execution of `task` (not stored): a manual, pending one unless `fields` say otherwise."""
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "task_id": task.id,
        "owner_id": task.owner_id,
        "task_name": task.name,
        "task_version": task.version,
        "task_snapshot": task_snapshot(task),
        "trigger_type": "manual",
        "prompt_variables": {},
        "status": "pending",
        "created_at": utc_now(),
    }
    return Execution.model_validate({**values, **fields})


def pending_execution(task: Task, variables: dict[str, Any] | None = None) -> str:
    """A pending execution written without starting a workflow (the steps are then called directly)."""
    execution = execution_of(task, prompt_variables=variables or {})
    now = execution.created_at
    audit = audit_store.new_event(
        actor_id=task.owner_id,
        owner_id=task.owner_id,
        action="execution.started",
        resource_type="execution",
        resource_id=execution.id,
        at=now,
        request_id=None,
    )
    execution_store.create(execution, audit)
    return execution.id


TERMINAL = {"completed", "failed", "cancelled", "timed_out"}


def finished(http: Any, execution_id: str) -> dict[str, Any]:
    """Poll an execution through the API until it ends (bounded); its last answer."""
    from tests.support.polling import wait_until

    def poll() -> dict[str, Any] | None:
        body: dict[str, Any] = http.get(f"/api/v1/task-executions/{execution_id}").json()
        return body if body["status"] in TERMINAL else None

    result: dict[str, Any] = wait_until(poll, what=f"execution {execution_id} to finish")
    return result


def api_client(local_cloud: Any, user: str) -> Any:
    """An HTTP client of the local cloud's API front, signed in as `user`."""
    import httpx2 as httpx

    headers = {"Authorization": f"Bearer {local_cloud.token(user)}"}
    return httpx.Client(base_url=local_cloud.api_url, headers=headers, timeout=30.0)


__all__ = ["Actor", "api_client", "finished", "pending_execution", "stored_task"]
