"""A task's `approval` setting: validated at create and PATCH (422 naming the field), stored, previewed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api_calls import Api, valid_task
from tests.support.fixtures import LambdaClient


@pytest.fixture
def alice(api: LambdaClient) -> Api:
    return Api(api, "alice")


def refused(alice: Api, method: str, path: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    status, payload, _ = alice.call(method, path, body)
    assert status == 422, payload
    return [(".".join(str(p) for p in d["loc"]), d["msg"]) for d in payload["error"]["details"]]


def test_a_task_with_approval_is_stored_answered_and_previewed(alice: Api) -> None:
    # Given a task whose bash and Write calls wait for a person
    task = alice.create(
        approval={"tools": ["bash", "Write"], "timeout_seconds": 7200, "on_timeout": "approve"}
    )
    # Then it is stored and answered as given, and its preview says so
    assert task["approval"] == {"tools": ["bash", "Write"], "timeout_seconds": 7200, "on_timeout": "approve"}
    assert alice.call("GET", f"/api/v1/tasks/{task['id']}")[1]["approval"] == task["approval"]
    status, preview, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/preview", {"variables": {}})
    assert status == 200, preview
    assert preview["approval"] == task["approval"]


def test_defaults_are_an_hour_and_deny(alice: Api) -> None:
    task = alice.create(approval={"tools": ["http_request"]})
    assert task["approval"] == {"tools": ["http_request"], "timeout_seconds": 3600, "on_timeout": "deny"}


@pytest.mark.parametrize(
    ("approval", "field", "says"),
    [
        ({"tools": ["web_search"]}, "body.approval.tools.0", "runs on the model API's side"),
        ({"tools": ["bash", "rm_rf"]}, "body.approval.tools.1", "is not a tool the service runs"),
        ({"tools": []}, "body.approval.tools", "at least 1"),
        (
            {"tools": ["bash"], "timeout_seconds": 59},
            "body.approval.timeout_seconds",
            "greater than or equal to 60",
        ),
        (
            {"tools": ["bash"], "timeout_seconds": 604_801},
            "body.approval.timeout_seconds",
            "less than or equal",
        ),
        ({"tools": ["bash"], "on_timeout": "retry"}, "body.approval.on_timeout", "'deny' or 'approve'"),
        ({"tools": ["bash"], "ask": "slack"}, "body.approval.ask", "Extra inputs"),
    ],
)
def test_a_bad_approval_is_a_422_naming_the_field(
    alice: Api, approval: dict[str, Any], field: str, says: str
) -> None:
    [(where, message)] = refused(alice, "POST", "/api/v1/tasks", valid_task(approval=approval))
    assert where == field
    assert says in message


def test_patch_sets_checks_and_clears_approval(alice: Api) -> None:
    task = alice.create()
    assert task["approval"] is None
    path = f"/api/v1/tasks/{task['id']}"
    [(where, _)] = refused(alice, "PATCH", path, {"approval": {"tools": ["web_fetch"]}})
    assert where == "body.approval.tools.0"
    status, patched, _ = alice.call("PATCH", path, {"approval": {"tools": ["bash"]}})
    assert status == 200, patched
    assert patched["approval"]["tools"] == ["bash"]
    status, cleared, _ = alice.call("PATCH", path, {"approval": None})
    assert status == 200, cleared
    assert cleared["approval"] is None
