"""Tasks API through the API function's handler, against a moto table built from template.yaml."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api_calls import Api, valid_task
from tests.support.fixtures import LambdaClient


def error_fields(payload: dict[str, Any]) -> list[str]:
    return [".".join(str(p) for p in d["loc"]) for d in payload["error"]["details"]]


# ---------------------------------------------------------------- create


def test_create_answers_201_with_location_etag_variables_and_links(alice: Api) -> None:
    status, task, headers = alice.call("POST", "/api/v1/tasks", valid_task())
    assert status == 201
    assert headers["Location"] == f"/api/v1/tasks/{task['id']}"
    assert headers["ETag"] == '"1"'
    assert task["version"] == 1
    assert task["owner_id"] == "alice"
    assert task["template_variables"] == ["environment", "service"]
    assert task["_links"] == {
        "self": f"/api/v1/tasks/{task['id']}",
        "execute": f"/api/v1/tasks/{task['id']}/execute",
        "executions": f"/api/v1/tasks/{task['id']}/executions",
        "preview": f"/api/v1/tasks/{task['id']}/preview",
        "reports": f"/api/v1/tasks/{task['id']}/reports",
    }
    assert task["is_active"] is True
    assert task["created_at"] == task["updated_at"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "body.name"),
        ({"name": "x" * 256}, "body.name"),
        ({"prompt_template": ""}, "body.prompt_template"),
        ({"prompt_template": "   "}, "body.prompt_template"),
        ({"prompt_template": "Hello {{ name "}, "body.prompt_template"),
        ({"prompt_template": "{{ ''.__class__.__mro__ }}"}, "body.prompt_template"),
        ({"prompt_template": "{% include 'x' %}"}, "body.prompt_template"),
        ({"allowed_tools": ["bash", "ssh"]}, "body.allowed_tools"),
        ({"allowed_tools": ["mcp__github__search"]}, "body.allowed_tools"),
        ({"disallowed_tools": ["Bash"]}, "body.disallowed_tools"),
        ({"sdk_options": {"max_turns": 0}}, "body.sdk_options.max_turns"),
        ({"sdk_options": {"max_turns": 201}}, "body.sdk_options.max_turns"),
        ({"sdk_options": {"permission_mode": "yolo"}}, "body.sdk_options.permission_mode"),
        ({"sdk_options": {"temperature": 1.5}}, "body.sdk_options.temperature"),
        ({"sdk_options": {"max_budget_usd": 0}}, "body.sdk_options.max_budget_usd"),
        ({"sdk_options": {"surprise": 1}}, "body.sdk_options.surprise"),
        (
            {"sdk_options": {"mcp_servers": [{"name": "gh", "url": "http://mcp.example.com"}]}},
            "body.sdk_options.mcp_servers.0.url",
        ),
        ({"is_scheduled": True}, "body.schedule_cron"),
        ({"is_scheduled": True, "schedule_cron": "61 * * * *"}, "body.schedule_cron"),
        ({"is_scheduled": True, "schedule_cron": "not a cron"}, "body.schedule_cron"),
        (
            {"is_scheduled": True, "schedule_cron": "0 9 * * *", "schedule_timezone": "Mars/Olympus"},
            "body.schedule_timezone",
        ),
        ({"generate_report": True}, "body.report_format"),
        ({"generate_report": True, "report_format": "docx"}, "body.report_format"),
        ({"tags": ["ok", "not ok!"]}, "body.tags.1"),
        ({"working_directory_path": "../etc"}, "body.working_directory_path"),
        (
            {"notification_config": {"on": ["completed"], "webhook_url": "http://example.com/hook"}},
            "body.notification_config",
        ),
        (
            {"notification_config": {"webhook_url": "https://hooks.example.com/x", "only_if": "status =="}},
            "body.notification_config.only_if",
        ),
        (
            {"notification_config": {"webhook_url": "https://hooks.example.com/x", "only_if": "a" * 513}},
            "body.notification_config.only_if",
        ),
        (
            {
                "notification_config": {
                    "sns_topic_arn": "arn:aws:sns:us-east-1:123456789012:t",
                    "format": "slack",
                }
            },
            "body.notification_config",
        ),
        (
            {"notification_config": {"sns_topic_arn": "arn:aws:sns:us-east-1-:123456789012:t"}},
            "body.notification_config.sns_topic_arn",
        ),
        (
            {"notification_config": {"webhook_url": "https://hooks.example.com/x", "on": ["approved"]}},
            "body.notification_config.on.0",
        ),
        ({"unknown_field": 1}, "body.unknown_field"),
    ],
)
def test_every_validation_rule_answers_422_naming_the_field(
    alice: Api, overrides: dict[str, Any], field: str
) -> None:
    # Given a body breaking one rule / When it is posted
    status, payload, _ = alice.call("POST", "/api/v1/tasks", valid_task(**overrides))
    # Then 422 with the one error shape, naming the field
    assert status == 422, payload
    assert payload["error"]["code"] == "validation_error"
    assert any(f.startswith(field) for f in error_fields(payload)), error_fields(payload)


@pytest.mark.parametrize("missing", ["name", "prompt_template", "allowed_tools", "sdk_options"])
def test_required_fields_are_required(alice: Api, missing: str) -> None:
    body = valid_task()
    del body[missing]
    status, payload, _ = alice.call("POST", "/api/v1/tasks", body)
    assert status == 422
    assert f"body.{missing}" in error_fields(payload)


def test_unknown_tools_are_refused_with_the_known_ones_listed(alice: Api) -> None:
    _, payload, _ = alice.call("POST", "/api/v1/tasks", valid_task(allowed_tools=["ssh", "curl"]))
    message = payload["error"]["details"][0]["msg"]
    assert "'ssh'" in message
    assert "read_file" in message
    assert "WebFetch" in message


def test_a_template_syntax_error_says_where(alice: Api) -> None:
    _, payload, _ = alice.call(
        "POST", "/api/v1/tasks", valid_task(prompt_template="line one\n{% if x %}never closed")
    )
    assert "line 2" in payload["error"]["details"][0]["msg"]


def test_claude_code_aliases_and_configured_mcp_tools_are_accepted(alice: Api) -> None:
    task = alice.create(
        allowed_tools=["Bash", "Read", "mcp__github__search_issues"],
        sdk_options={"mcp_servers": [{"name": "github", "url": "https://mcp.example.com/github"}]},
    )
    assert task["allowed_tools"] == ["Bash", "Read", "mcp__github__search_issues"]


def test_mcp_tokens_are_never_answered(alice: Api) -> None:
    task = alice.create(
        sdk_options={
            "mcp_servers": [{"name": "gh", "url": "https://mcp.example.com", "authorization_token": "sekrit"}]
        }
    )
    _, fetched, _ = alice.call("GET", f"/api/v1/tasks/{task['id']}")
    assert "sekrit" not in str(task)
    assert "sekrit" not in str(fetched)


def test_a_body_that_is_not_json_is_400(alice: Api) -> None:
    status, payload, _ = alice.call("POST", "/api/v1/tasks", "{not json")
    assert status == 400
    assert payload["error"]["code"] == "bad_request"


def test_names_are_unique_per_user_ignoring_case(alice: Api, bob: Api) -> None:
    alice.create(name="Nightly Check")
    status, payload, _ = alice.call("POST", "/api/v1/tasks", valid_task(name="nightly CHECK"))
    assert status == 409
    assert payload["error"]["code"] == "conflict"
    # another user may use the same name
    assert bob.call("POST", "/api/v1/tasks", valid_task(name="Nightly Check"))[0] == 201


# ---------------------------------------------------------------- get / list


def test_get_answers_the_task_with_its_etag(alice: Api) -> None:
    task = alice.create()
    status, fetched, headers = alice.call("GET", f"/api/v1/tasks/{task['id']}")
    assert status == 200
    assert fetched == task
    assert headers["ETag"] == '"1"'


def test_list_is_newest_first_with_total_and_links(alice: Api) -> None:
    ids = [alice.create(name=f"task {i}")["id"] for i in range(3)]
    status, page, _ = alice.call("GET", "/api/v1/tasks")
    assert status == 200
    assert [t["id"] for t in page["items"]] == list(reversed(ids))
    assert page["total"] == 3
    assert page["page"] == 1
    assert page["page_size"] == 20
    assert page["next_cursor"] is None
    assert page["_links"]["self"].startswith("/api/v1/tasks?")
    assert "next" not in page["_links"]


def test_pages_and_cursors_walk_the_whole_list_once(alice: Api) -> None:
    created = {alice.create(name=f"t{i}")["id"] for i in range(5)}
    seen: list[str] = []
    _, page, _ = alice.call("GET", "/api/v1/tasks", query={"page_size": "2"})
    seen += [t["id"] for t in page["items"]]
    while page["next_cursor"]:
        _, page, _ = alice.call(
            "GET", "/api/v1/tasks", query={"page_size": "2", "cursor": page["next_cursor"]}
        )
        seen += [t["id"] for t in page["items"]]
    assert len(seen) == 5
    assert set(seen) == created
    assert page["total"] == 5


def test_a_cursor_is_bound_to_its_filters(alice: Api) -> None:
    for i in range(3):
        alice.create(name=f"t{i}")
    _, page, _ = alice.call("GET", "/api/v1/tasks", query={"page_size": "1"})
    status, payload, _ = alice.call(
        "GET", "/api/v1/tasks", query={"page_size": "1", "q": "t", "cursor": page["next_cursor"]}
    )
    assert status == 400
    assert "cursor" in str(payload["error"]["details"])
    assert alice.call("GET", "/api/v1/tasks", query={"cursor": "garbage!!"})[0] == 400


def test_filters_tags_scheduled_active_and_name(alice: Api) -> None:
    a = alice.create(name="Deploy check", tags=["ops", "prod"])
    b = alice.create(name="Cost report", tags=["ops"], is_active=False)
    c = alice.create(name="Nightly", is_scheduled=True, schedule_cron="0 2 * * *")

    def ids(query: dict[str, str]) -> set[str]:
        return {t["id"] for t in alice.call("GET", "/api/v1/tasks", query=query)[1]["items"]}

    assert ids({"tags": "ops"}) == {a["id"], b["id"]}
    assert ids({"tags": "ops,prod"}) == {a["id"]}
    assert ids({"is_active": "false"}) == {b["id"]}
    assert ids({"is_scheduled": "true"}) == {c["id"]}
    assert ids({"q": "CHECK"}) == {a["id"]}


@pytest.mark.parametrize(
    "query", [{"page_size": "0"}, {"page_size": "101"}, {"page": "0"}, {"is_active": "maybe"}]
)
def test_bad_list_parameters_are_422(alice: Api, query: dict[str, str]) -> None:
    status, payload, _ = alice.call("GET", "/api/v1/tasks", query=query)
    assert status == 422
    assert payload["error"]["details"][0]["loc"][0] == "query"


# ---------------------------------------------------------------- update


def test_patch_changes_only_what_is_given_and_bumps_the_version(alice: Api) -> None:
    task = alice.create(description="old")
    status, updated, headers = alice.call(
        "PATCH", f"/api/v1/tasks/{task['id']}", {"description": "new"}, headers={"If-Match": '"1"'}
    )
    assert status == 200
    assert updated["description"] == "new"
    assert updated["name"] == task["name"]
    assert updated["version"] == 2
    assert headers["ETag"] == '"2"'
    assert updated["updated_at"] > task["updated_at"]


def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(alice: Api) -> None:
    task = alice.create()
    alice.call("PATCH", f"/api/v1/tasks/{task['id']}", {"description": "first"})
    status, payload, _ = alice.call(
        "PATCH", f"/api/v1/tasks/{task['id']}", {"description": "second"}, headers={"If-Match": '"1"'}
    )
    assert status == 412
    assert payload["error"]["code"] == "precondition_failed"
    assert alice.call("GET", f"/api/v1/tasks/{task['id']}")[1]["description"] == "first"


def test_patch_compile_checks_only_if(alice: Api) -> None:
    # Given a task with a webhook
    task = alice.call(
        "POST",
        "/api/v1/tasks",
        valid_task(notification_config={"webhook_url": "https://hooks.example.com/x"}),
    )[1]
    # When a PATCH sets an expression that does not compile / Then 422 names notification_config.only_if
    bad = {"notification_config": {"webhook_url": "https://hooks.example.com/x", "only_if": "[?"}}
    status, payload, _ = alice.call("PATCH", f"/api/v1/tasks/{task['id']}", bad)
    assert status == 422, payload
    assert "body.notification_config.only_if" in error_fields(payload)
    # And one that compiles is kept
    good = {
        "notification_config": {"webhook_url": "https://hooks.example.com/x", "only_if": "cost_usd > `1`"}
    }
    status, payload, _ = alice.call("PATCH", f"/api/v1/tasks/{task['id']}", good)
    assert status == 200, payload
    assert payload["notification_config"]["only_if"] == "cost_usd > `1`"


def test_a_topic_arn_in_a_made_up_region_is_a_422_naming_the_field_and_why(alice: Api) -> None:
    # Given a topic ARN whose region is no AWS region
    body = valid_task(notification_config={"sns_topic_arn": "arn:aws:sns:x:123456789012:alerts"})
    # When the task is created
    status, payload, _ = alice.call("POST", "/api/v1/tasks", body)
    # Then 422 names notification_config.sns_topic_arn and says what is wrong with it
    assert status == 422, payload
    [detail] = [d for d in payload["error"]["details"] if d["loc"][-1] == "sns_topic_arn"]
    assert detail["loc"] == ["body", "notification_config", "sns_topic_arn"]
    assert "the region 'x' is not an AWS region name" in detail["msg"]


def test_patch_revalidates_the_merged_task(alice: Api) -> None:
    task = alice.create()
    status, payload, _ = alice.call("PATCH", f"/api/v1/tasks/{task['id']}", {"is_scheduled": True})
    assert status == 422
    assert "body.schedule_cron" in error_fields(payload)
    status, payload, _ = alice.call(
        "PATCH", f"/api/v1/tasks/{task['id']}", {"disallowed_tools": ["read_file"]}
    )
    assert status == 422
    assert "body.disallowed_tools" in error_fields(payload)
    status, payload, _ = alice.call("PATCH", f"/api/v1/tasks/{task['id']}", {"name": None})
    assert status == 422
    assert alice.call("PATCH", f"/api/v1/tasks/{task['id']}", {})[0] == 422


def test_rename_moves_the_name_lock(alice: Api) -> None:
    first = alice.create(name="Alpha")
    alice.create(name="Beta")
    assert alice.call("PATCH", f"/api/v1/tasks/{first['id']}", {"name": "beta"})[0] == 409
    assert alice.call("PATCH", f"/api/v1/tasks/{first['id']}", {"name": "Gamma"})[0] == 200
    # the old name is free again, the new one is taken
    assert alice.call("POST", "/api/v1/tasks", valid_task(name="alpha"))[0] == 201
    assert alice.call("POST", "/api/v1/tasks", valid_task(name="GAMMA"))[0] == 409


# ---------------------------------------------------------------- delete


def test_delete_is_soft_gone_from_gets_and_lists_and_frees_the_name(alice: Api) -> None:
    task = alice.create(name="Temp")
    status, body, _ = alice.call("DELETE", f"/api/v1/tasks/{task['id']}")
    assert status == 204
    assert body is None
    assert alice.call("GET", f"/api/v1/tasks/{task['id']}")[0] == 404
    assert alice.call("GET", "/api/v1/tasks")[1]["total"] == 0
    assert alice.call("DELETE", f"/api/v1/tasks/{task['id']}")[0] == 404
    assert alice.call("POST", "/api/v1/tasks", valid_task(name="temp"))[0] == 201


def test_delete_stops_the_schedule(alice: Api, aws: dict[str, str]) -> None:
    import boto3

    task = alice.create(is_scheduled=True, schedule_cron="*/5 * * * *")
    key = {"PK": {"S": f"TASK#{task['id']}"}, "SK": {"S": "TASK"}}
    table = boto3.client("dynamodb")
    assert "GSI2PK" in table.get_item(TableName=aws["TABLE_NAME"], Key=key)["Item"]
    alice.call("DELETE", f"/api/v1/tasks/{task['id']}")
    item = table.get_item(TableName=aws["TABLE_NAME"], Key=key)["Item"]
    assert item["is_deleted"] == {"BOOL": True}
    assert "deleted_at" in item
    assert "GSI2PK" not in item


# ---------------------------------------------------------------- isolation


def test_another_users_private_task_is_404_on_every_route(alice: Api, bob: Api) -> None:
    task = alice.create()
    path = f"/api/v1/tasks/{task['id']}"
    assert bob.call("GET", path)[0] == 404
    assert bob.call("PATCH", path, {"description": "mine now"})[0] == 404
    assert bob.call("DELETE", path)[0] == 404
    assert bob.call("GET", "/api/v1/tasks")[1]["total"] == 0
    assert alice.call("GET", path)[1]["description"] is None


def test_a_public_task_is_readable_by_others_but_not_changeable(alice: Api, bob: Api) -> None:
    task = alice.create(is_public=True)
    path = f"/api/v1/tasks/{task['id']}"
    assert bob.call("GET", path)[0] == 200
    assert bob.call("PATCH", path, {"description": "x"})[0] == 403
    assert bob.call("DELETE", path)[0] == 403
    # and it is not in bob's own list
    assert bob.call("GET", "/api/v1/tasks")[1]["total"] == 0


def test_without_a_subject_claim_the_caller_is_401(api: LambdaClient) -> None:
    from tests.support.events import http_api_event

    response = api(http_api_event("GET", "/api/v1/tasks", user=None))
    assert response["statusCode"] == 401


# ---------------------------------------------------------------- audit


def test_every_change_leaves_an_audit_event_newest_first(alice: Api, bob: Api) -> None:
    task = alice.create()
    alice.call("PATCH", f"/api/v1/tasks/{task['id']}", {"description": "x", "tags": ["a"]})
    alice.call("DELETE", f"/api/v1/tasks/{task['id']}")
    status, page, _ = alice.call("GET", "/api/v1/audit-events")
    assert status == 200
    actions = [(e["action"], e["resource_id"]) for e in page["items"]]
    assert actions == [
        ("task.deleted", task["id"]),
        ("task.updated", task["id"]),
        ("task.created", task["id"]),
    ]
    assert page["items"][1]["changed_fields"] == ["description", "tags"]
    assert page["total"] == 3
    _, first, _ = alice.call("GET", "/api/v1/audit-events", query={"page_size": "2"})
    _, second, _ = alice.call(
        "GET", "/api/v1/audit-events", query={"page_size": "2", "cursor": first["next_cursor"]}
    )
    assert [e["id"] for e in first["items"] + second["items"]] == [e["id"] for e in page["items"]]
    assert (first["total"], second["total"], second["next_cursor"]) == (3, 3, None)
    assert all(e["actor_id"] == "alice" and e["request_id"] for e in page["items"])
    assert bob.call("GET", "/api/v1/audit-events")[1]["items"] == []


def test_no_stack_trace_reaches_a_client(alice: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent_tasks.store import tasks as task_store

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("secret internals at /var/task/x.py line 3")

    monkeypatch.setattr(task_store, "list_page", broken)
    status, payload, _ = alice.call("GET", "/api/v1/tasks")
    assert status == 500
    assert payload == {
        "error": {"code": "internal_error", "message": "an internal error occurred", "details": []}
    }


def test_a_body_that_is_not_json_typed_is_415(alice: Api) -> None:
    status, payload, _ = alice.call("POST", "/api/v1/tasks", "{}", headers={"Content-Type": "text/plain"})
    assert status == 415
    assert payload["error"]["code"] == "unsupported_media_type"


def test_a_body_that_is_not_utf8_is_400(api: LambdaClient) -> None:
    import base64

    from tests.support.events import http_api_event

    event = http_api_event("POST", "/api/v1/tasks", body=base64.b64encode(b"\xff\xfe{").decode())
    event["isBase64Encoded"] = True
    response = api(event)
    assert response["statusCode"] == 400


def test_numbers_too_small_for_dynamodb_do_not_break_a_create(alice: Api) -> None:
    status, payload, _ = alice.call(
        "POST", "/api/v1/tasks", valid_task(sdk_options={"model": "claude-sonnet-4-6", "temperature": 5e-324})
    )
    assert status == 201, payload
    assert alice.call("GET", f"/api/v1/tasks/{payload['id']}")[1]["sdk_options"]["temperature"] == 0


# ---------------------------------------------------------------- restore


def test_restore_brings_a_deleted_task_back_with_its_name_and_schedule(
    alice: Api, aws: dict[str, str]
) -> None:
    import boto3

    # Given a scheduled task that was deleted
    task = alice.create(name="Nightly", is_scheduled=True, schedule_cron="0 2 * * *")
    alice.call("DELETE", f"/api/v1/tasks/{task['id']}")
    # When its owner restores it
    status, restored, headers = alice.call("POST", f"/api/v1/tasks/{task['id']}/restore")
    # Then it is live again, listed, in the due index, its name taken again, and audited
    assert status == 200
    assert restored["version"] == 3
    assert headers["ETag"] == '"3"'
    assert restored["next_run_at"] is not None
    assert [t["id"] for t in alice.call("GET", "/api/v1/tasks")[1]["items"]] == [task["id"]]
    item = boto3.client("dynamodb").get_item(
        TableName=aws["TABLE_NAME"], Key={"PK": {"S": f"TASK#{task['id']}"}, "SK": {"S": "TASK"}}
    )["Item"]
    assert "GSI2PK" in item
    assert alice.call("POST", "/api/v1/tasks", valid_task(name="nightly"))[0] == 409
    assert alice.call("GET", "/api/v1/audit-events")[1]["items"][0]["action"] == "task.restored"


def test_restore_refuses_a_live_task_a_taken_name_and_another_user(alice: Api, bob: Api) -> None:
    live = alice.create(name="Live")
    assert alice.call("POST", f"/api/v1/tasks/{live['id']}/restore")[0] == 409
    gone = alice.create(name="Gone")
    alice.call("DELETE", f"/api/v1/tasks/{gone['id']}")
    assert bob.call("POST", f"/api/v1/tasks/{gone['id']}/restore")[0] == 404
    alice.create(name="gone")  # the name was freed and is taken again
    status, payload, _ = alice.call("POST", f"/api/v1/tasks/{gone['id']}/restore")
    assert status == 409
    assert "another task named" in payload["error"]["message"]
    assert alice.call("GET", f"/api/v1/tasks/{gone['id']}")[0] == 404
