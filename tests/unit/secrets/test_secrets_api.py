"""The secrets API through the API function's handler: owner-only, audited by name, values never answered."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.support.api_calls import Api, valid_task
from tests.support.fixtures import LambdaClient
from tests.support.secrets import TOKEN_VALUE


def call(
    api: Api, method: str, name: str | None = None, body: Any = None, **kwargs: Any
) -> tuple[int, Any, dict[str, str]]:
    if name is None:
        return api.call(method, "/api/v1/secrets", body, **kwargs)
    return api.call(
        method,
        f"/api/v1/secrets/{name}",
        body,
        path_parameters={"name": name},
        **kwargs,
    )


@pytest.fixture
def alice(api: LambdaClient, secrets_key: str) -> Api:
    return Api(api, "alice")


@pytest.fixture
def bob(api: LambdaClient, secrets_key: str) -> Api:
    return Api(api, "bob")


def test_put_creates_then_replaces_and_no_answer_holds_the_value(alice: Api) -> None:
    # When alice puts a secret
    status, created, headers = call(alice, "PUT", "API_TOKEN", {"value": TOKEN_VALUE, "description": "ci"})
    # Then it is created, with its name, description and times, and never its value
    assert status == 201, created
    assert headers["Location"] == "/api/v1/secrets/API_TOKEN"
    assert created["name"] == "API_TOKEN"
    assert created["description"] == "ci"
    assert created["version"] == 1
    assert created["_links"] == {"self": "/api/v1/secrets/API_TOKEN"}
    assert TOKEN_VALUE not in json.dumps(created)
    # When she replaces it
    status, replaced, _ = call(alice, "PUT", "API_TOKEN", {"value": "other-value-123"})
    assert status == 200
    assert replaced["version"] == 2
    assert replaced["created_at"] == created["created_at"]
    # Then the list has it once, without a value
    status, listed, _ = call(alice, "GET")
    assert status == 200
    assert [s["name"] for s in listed["items"]] == ["API_TOKEN"]
    assert listed["total"] == 1
    assert "value" not in listed["items"][0]
    assert TOKEN_VALUE not in json.dumps(listed)
    assert "other-value-123" not in json.dumps(listed)


def test_the_value_is_stored_sealed_never_in_clear(alice: Api, aws: dict[str, str]) -> None:
    call(alice, "PUT", "API_TOKEN", {"value": TOKEN_VALUE})
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=aws["TABLE_NAME"])["Items"]
    dumped = json.dumps(items)
    assert TOKEN_VALUE not in dumped
    assert TOKEN_VALUE.encode().hex() not in dumped
    assert '"SECRET#API_TOKEN"' in dumped


def test_every_change_is_audited_by_name_and_time_never_value(alice: Api) -> None:
    call(alice, "PUT", "API_TOKEN", {"value": TOKEN_VALUE})
    call(alice, "PUT", "API_TOKEN", {"value": TOKEN_VALUE + "2"})
    call(alice, "DELETE", "API_TOKEN")
    status, trail, _ = alice.call("GET", "/api/v1/audit-events")
    assert status == 200
    actions = [(e["action"], e["resource_id"]) for e in trail["items"]]
    assert actions == [
        ("secret.deleted", "API_TOKEN"),
        ("secret.updated", "API_TOKEN"),
        ("secret.created", "API_TOKEN"),
    ]
    assert all(e["at"] for e in trail["items"])
    assert TOKEN_VALUE not in json.dumps(trail)


@pytest.mark.parametrize(
    ("name", "body", "where"),
    [
        ("lower_case", {"value": "x"}, ["path", "name"]),
        ("1ST", {"value": "x"}, ["path", "name"]),
        ("A" * 65, {"value": "x"}, ["path", "name"]),
        ("PATH", {"value": "x"}, ["path", "name"]),
        ("AWS_SECRET_ACCESS_KEY", {"value": "x"}, ["path", "name"]),
        ("OK_NAME", {"value": ""}, ["body", "value"]),
        ("OK_NAME", {"value": "x" * (32 * 1024 + 1)}, ["body", "value"]),
        ("OK_NAME", {"value": "é" * (16 * 1024 + 1)}, ["body", "value"]),
        ("OK_NAME", {"value": "a\u0000b"}, ["body", "value"]),
        ("OK_NAME", {"value": "x", "extra": 1}, ["body", "extra"]),
        ("OK_NAME", {"description": "no value"}, ["body", "value"]),
    ],
)
def test_bad_names_and_values_are_422_naming_the_field(
    alice: Api, name: str, body: dict[str, Any], where: list[str]
) -> None:
    status, answer, _ = call(alice, "PUT", name, body)
    assert status == 422, answer
    assert where in [d["loc"] for d in answer["error"]["details"]]
    assert "x" * 100 not in json.dumps(answer)
    status, listed, _ = call(alice, "GET")
    assert listed["total"] == 0


def test_a_value_of_exactly_32_kb_is_accepted(alice: Api) -> None:
    status, _, _ = call(alice, "PUT", "BIG", {"value": "x" * (32 * 1024)})
    assert status == 201


def test_another_user_cannot_list_delete_or_overwrite_a_secret(alice: Api, bob: Api) -> None:
    # Given alice's secret
    call(alice, "PUT", "API_TOKEN", {"value": TOKEN_VALUE})
    # Then bob's list is empty and deleting it is a 404 for him
    assert call(bob, "GET")[1]["total"] == 0
    assert call(bob, "DELETE", "API_TOKEN")[0] == 404
    # And bob's PUT of the same name makes his own secret, leaving alice's as it was
    assert call(bob, "PUT", "API_TOKEN", {"value": "bobs-value-123"})[0] == 201
    mine = call(alice, "GET")[1]["items"][0]
    assert mine["version"] == 1
    # And bob cannot reference alice's secret from his task: only his own names count
    call(bob, "DELETE", "API_TOKEN")
    status, answer, _ = bob.call("POST", "/api/v1/tasks", valid_task(secrets=["API_TOKEN"]))
    assert status == 422
    assert "API_TOKEN" in answer["error"]["message"]


def test_delete_is_409_while_a_task_references_it_unless_forced(alice: Api) -> None:
    # Given a task that references alice's secret
    call(alice, "PUT", "API_TOKEN", {"value": TOKEN_VALUE})
    task = alice.create(secrets=["API_TOKEN"])
    # When she deletes the secret, it is a 409 naming the task
    status, answer, _ = call(alice, "DELETE", "API_TOKEN")
    assert status == 409
    assert task["id"] in answer["error"]["message"]
    assert call(alice, "GET")[1]["total"] == 1
    # And with force=true it is deleted
    status, _, _ = call(alice, "DELETE", "API_TOKEN", query={"force": "true"})
    assert status == 204
    assert call(alice, "GET")[1]["total"] == 0
    assert call(alice, "DELETE", "API_TOKEN")[0] == 404


def test_a_deleted_task_no_longer_holds_a_secret(alice: Api) -> None:
    call(alice, "PUT", "API_TOKEN", {"value": TOKEN_VALUE})
    task = alice.create(secrets=["API_TOKEN"])
    assert alice.call("DELETE", f"/api/v1/tasks/{task['id']}")[0] == 204
    assert call(alice, "DELETE", "API_TOKEN")[0] == 204


def test_tasks_reference_only_existing_secrets_at_create_and_patch(alice: Api) -> None:
    # Given one secret
    call(alice, "PUT", "API_TOKEN", {"value": TOKEN_VALUE})
    # When a task references a missing one, it is a 422 naming it
    status, answer, _ = alice.call("POST", "/api/v1/tasks", valid_task(secrets=["API_TOKEN", "GITHUB_TOKEN"]))
    assert status == 422
    assert answer["error"]["details"][0]["loc"] == ["body", "secrets"]
    assert "GITHUB_TOKEN" in answer["error"]["message"]
    assert "API_TOKEN" not in answer["error"]["details"][0]["msg"].split(":")[1]
    # And an existing one is accepted and answered by name
    task = alice.create(secrets=["API_TOKEN"])
    assert task["secrets"] == ["API_TOKEN"]
    # And a PATCH to a missing one is a 422 that changes nothing
    status, answer, _ = alice.call("PATCH", f"/api/v1/tasks/{task['id']}", {"secrets": ["NOPE"]})
    assert status == 422
    assert "NOPE" in answer["error"]["message"]
    assert alice.call("GET", f"/api/v1/tasks/{task['id']}")[1]["secrets"] == ["API_TOKEN"]
    # And a bad name is a 422 of the model
    status, answer, _ = alice.call("PATCH", f"/api/v1/tasks/{task['id']}", {"secrets": ["bad-name"]})
    assert status == 422


def test_an_mcp_token_may_name_a_secret_and_it_must_exist(alice: Api) -> None:
    server = {
        "name": "gh",
        "url": "https://mcp.example.com/sse",
        "authorization_token": "{{ secret.GH_TOKEN }}",
    }
    options = {"model": "claude-sonnet-5-5", "mcp_servers": [server]}
    status, answer, _ = alice.call("POST", "/api/v1/tasks", valid_task(sdk_options=options))
    assert status == 422
    assert "GH_TOKEN" in answer["error"]["message"]
    call(alice, "PUT", "GH_TOKEN", {"value": TOKEN_VALUE})
    task = alice.create(sdk_options=options)
    status, answer, _ = call(alice, "DELETE", "GH_TOKEN")
    assert status == 409
    assert task["id"] in answer["error"]["message"]


@pytest.mark.parametrize(
    "template",
    ["Use {{ secret.API_TOKEN }}", "{{ secrets['API_TOKEN'] }}", "{% if secret %}x{% endif %}"],
)
def test_a_prompt_that_references_secrets_is_422(alice: Api, template: str) -> None:
    status, answer, _ = alice.call("POST", "/api/v1/tasks", valid_task(prompt_template=template))
    assert status == 422
    assert answer["error"]["details"][0]["loc"] == ["body", "prompt_template"]
    assert "cannot reference secrets" in answer["error"]["details"][0]["msg"]


def test_the_placeholder_can_be_written_literally_for_the_model(alice: Api) -> None:
    task = alice.create(
        prompt_template="Send {% raw %}{{ secret.API_TOKEN }}{% endraw %} as the bearer token."
    )
    assert task["template_variables"] == []
