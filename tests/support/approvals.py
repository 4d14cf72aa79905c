"""Waiting for an execution's approval request, through the API (bounded polling, no sleeps)."""

from __future__ import annotations

from typing import Any

from agent_tasks.store import approvals as approval_store
from tests.support.polling import wait_until

TERMINAL = {"completed", "failed", "cancelled", "timed_out"}
# Bounded polls, generous: a run's first steps import the model SDK, slow on a loaded machine.
LIMIT_SECONDS = 120.0


def waiting_request(http: Any, execution_id: str, *, asked: int = 1) -> dict[str, Any]:
    """The pending request, once the execution waits on its `asked`-th one and the workflow holds the
    task token (so an answer resumes it at once)."""

    def poll() -> dict[str, Any] | None:
        body = http.get(f"/api/v1/task-executions/{execution_id}").json()
        assert body["status"] not in TERMINAL, body
        if body["status"] != "waiting_for_approval":
            return None
        items = http.get(f"/api/v1/task-executions/{execution_id}/approvals").json()["items"]
        pending = [item for item in items if item["status"] == "pending"]
        if len(items) != asked or len(pending) != 1:
            return None
        stored = approval_store.get(execution_id, pending[0]["id"])
        return pending[0] if stored is not None and stored.task_token else None

    result: dict[str, Any] = wait_until(
        poll, what=f"execution {execution_id} to wait for approval {asked}", limit_seconds=LIMIT_SECONDS
    )
    return result


def finished_run(http: Any, execution_id: str) -> dict[str, Any]:
    def poll() -> dict[str, Any] | None:
        body: dict[str, Any] = http.get(f"/api/v1/task-executions/{execution_id}").json()
        return body if body["status"] in TERMINAL else None

    result: dict[str, Any] = wait_until(
        poll, what=f"execution {execution_id} to finish", limit_seconds=LIMIT_SECONDS
    )
    return result
