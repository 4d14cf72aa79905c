"""The webhook signing secret: shown in the answer that makes it, and rotatable by the owner alone."""

from __future__ import annotations

from typing import Any

from agent_tasks.store import tasks as task_store
from tests.support.api_calls import Api

HOOK = {"on": ["completed"], "webhook_url": "https://hooks.example.com/agent-tasks"}


def _stored_secret(task: dict[str, Any]) -> str | None:
    stored = task_store.get(task["id"])
    assert stored is not None
    return stored.webhook_secret


def test_a_patch_that_adds_a_webhook_url_answers_its_new_secret_once(alice: Api) -> None:
    # Given a task without a webhook
    task = alice.create()
    # When a PATCH adds one
    status, patched, _ = alice.call("PATCH", f"/api/v1/tasks/{task['id']}", {"notification_config": HOOK})
    # Then the answer shows the secret it made (it was never shown), the one stored
    assert status == 200, patched
    assert patched["webhook_secret"]
    assert patched["webhook_secret"] == _stored_secret(task)
    # And a later PATCH or GET does not show it again
    _, again, _ = alice.call("PATCH", f"/api/v1/tasks/{task['id']}", {"description": "x"})
    assert again["webhook_secret"] is None
    assert alice.call("GET", f"/api/v1/tasks/{task['id']}")[1]["webhook_secret"] is None


def test_rotate_answers_a_new_secret_the_old_one_is_gone_and_it_is_audited(alice: Api) -> None:
    # Given a task with a webhook and its secret
    status, task, _ = alice.call("POST", "/api/v1/tasks", _task_with_hook())
    assert status == 201, task
    first = task["webhook_secret"]
    # When its owner rotates the secret
    status, rotated, headers = alice.call("POST", f"/api/v1/tasks/{task['id']}/webhook-secret/rotate")
    # Then a new secret is answered, stored, and the task's version moved on
    assert status == 200, rotated
    assert rotated["webhook_secret"] not in (None, first)
    assert _stored_secret(task) == rotated["webhook_secret"]
    assert headers["ETag"] == '"2"'
    # And the rotation is in the audit trail
    events = alice.call("GET", "/api/v1/audit-events")[1]["items"]
    assert events[0]["action"] == "task.webhook_secret_rotated"
    assert events[0]["resource_id"] == task["id"]


def test_only_the_owner_may_rotate(alice: Api, bob: Api) -> None:
    # Given alice's public and private tasks with webhooks
    _, public, _ = alice.call("POST", "/api/v1/tasks", _task_with_hook(name="Public", is_public=True))
    _, private, _ = alice.call("POST", "/api/v1/tasks", _task_with_hook(name="Private"))
    # When bob tries to rotate their secrets / Then 403 for the one he can see, 404 for the other
    assert bob.call("POST", f"/api/v1/tasks/{public['id']}/webhook-secret/rotate")[0] == 403
    assert bob.call("POST", f"/api/v1/tasks/{private['id']}/webhook-secret/rotate")[0] == 404
    assert _stored_secret(public) == public["webhook_secret"]


def test_a_task_without_a_webhook_has_no_secret_to_rotate(alice: Api) -> None:
    task = alice.create()
    status, payload, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/webhook-secret/rotate")
    assert status == 409, payload


def _task_with_hook(**overrides: Any) -> dict[str, Any]:
    from tests.support.api_calls import valid_task

    return valid_task(notification_config=HOOK, **overrides)
