"""Another user reading a public task sees a reduced view: no endpoints, secrets or the owner's errors."""

from __future__ import annotations

import json
from typing import Any

from agent_tasks.store import tasks as task_store
from tests.support.api_calls import Api
from tests.support.fixtures import load_function

HOOK_URL = "https://hooks.slack.example.com/services/T000/B000/capability-secret"
MCP_URL = "https://mcp.example.com/sse?token=query-secret"


def _public_task(alice: Api) -> dict[str, Any]:
    task = alice.create(
        is_public=True,
        description="What it does",
        tags=["ops"],
        allowed_tools=["read_file", "mcp__gh__search"],
        sdk_options={
            "model": "claude-sonnet-5-5",
            "system_prompt": "Be brief.",
            "mcp_servers": [{"name": "gh", "url": MCP_URL, "authorization_token": "tok"}],
        },
        notification_config={
            "on": ["failed"],
            "webhook_url": HOOK_URL,
            "sns_topic_arn": "arn:aws:sns:us-east-1:123456789012:owner-alerts",
        },
    )
    stored = task_store.get(task["id"])
    assert stored is not None
    # as the scheduler leaves it after failures: the reason quotes the owner's last error
    paused = stored.model_copy(update={"schedule_paused_reason": "paused: failed with internal detail"})
    task_store.replace(stored, paused.model_copy(update={"version": stored.version + 1}), _audit(stored))
    return task


def _audit(task: Any) -> Any:
    from agent_tasks.models.common import utc_now
    from agent_tasks.store import audit as audit_store

    return audit_store.new_event(
        actor_id=task.owner_id,
        owner_id=task.owner_id,
        action="task.schedule_paused",
        resource_type="task",
        resource_id=task.id,
        at=utc_now(),
        request_id=None,
    )


def test_another_user_sees_no_endpoints_secrets_or_the_owners_errors(alice: Api, bob: Api) -> None:
    # Given alice's public task with a webhook, an SNS topic, an MCP server and a paused schedule
    task = _public_task(alice)
    # When bob reads it
    status, seen, _ = bob.call("GET", f"/api/v1/tasks/{task['id']}")
    # Then he sees what it does, and none of where it reports to or what went wrong for alice
    assert status == 200, seen
    text = json.dumps(seen)
    for private in (HOOK_URL, "owner-alerts", "mcp.example.com", "query-secret", "internal detail"):
        assert private not in text, private
    assert "notification_config" not in seen
    assert "schedule_paused_reason" not in seen
    assert seen["view"] == "public"
    assert seen["name"] == task["name"]
    assert seen["description"] == "What it does"
    assert seen["prompt_template"] == task["prompt_template"]
    assert seen["allowed_tools"] == ["read_file", "mcp__gh__search"]
    assert seen["tags"] == ["ops"]
    assert seen["sdk_options"]["system_prompt"] == "Be brief."
    assert seen["sdk_options"]["mcp_servers"] == [{"name": "gh"}]
    assert seen["_links"] == {"self": f"/api/v1/tasks/{task['id']}"}


def test_the_owner_still_sees_everything(alice: Api) -> None:
    task = _public_task(alice)
    _, seen, _ = alice.call("GET", f"/api/v1/tasks/{task['id']}")
    assert seen["notification_config"]["webhook_url"] == HOOK_URL
    assert seen["sdk_options"]["mcp_servers"][0]["url"] == MCP_URL
    assert seen["view"] == "owner"


def test_the_document_describes_both_views_of_get_task() -> None:
    document = json.loads(load_function("api")._openapi_document())
    answer = document["paths"]["/api/v1/tasks/{task_id}"]["get"]["responses"]["200"]
    schema = answer["content"]["application/json"]["schema"]
    assert schema == {
        "anyOf": [
            {"$ref": "#/components/schemas/TaskResponse"},
            {"$ref": "#/components/schemas/PublicTaskResponse"},
        ]
    }
    public = document["components"]["schemas"]["PublicTaskResponse"]
    assert "notification_config" not in public["properties"]
