"""Bodies that json.loads alone gets wrong: deep nesting, NaN/Infinity, duplicate keys, exact numbers.

Each is answered 400 naming the problem (never 500, never silently changed), and a number is
rendered from the text the caller wrote, in a preview as in the run.
"""

from __future__ import annotations

import pytest

from agent_tasks.jsontext import MAX_DEPTH
from agent_tasks.models.executions import ExecuteRequest
from agent_tasks.services import workflow
from agent_tasks.store import executions as execution_store
from tests.support.api_calls import Api, valid_task
from tests.support.executions import pending_execution, stored_task


def _bad_request_message(alice: Api, body: str, path: str = "/api/v1/tasks") -> str:
    status, payload, _ = alice.call("POST", path, body)
    assert status == 400, payload
    assert payload["error"]["code"] == "bad_request"
    return str(payload["error"]["details"][0]["msg"])


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_ten_thousand_deep_json_is_400_naming_the_limit(alice: Api, opening: str) -> None:
    # Given a body nested 10,000 deep
    closing = "]" if opening == "[" else "}"
    body = opening * 10_000 + "1" + closing * 10_000
    # When it is posted / Then 400 naming the depth limit (it was a 500: RecursionError)
    assert f"at most {MAX_DEPTH} deep" in _bad_request_message(alice, body)


def test_nesting_within_the_limit_is_parsed(alice: Api) -> None:
    # Given a body nested just within the limit (brackets inside strings do not count)
    body = '{"name": "[[[[", "x": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}"
    # When it is posted / Then it is parsed: the answer is about the fields, a 422, not a 400
    status, _, _ = alice.call("POST", "/api/v1/tasks", body)
    assert status == 422


@pytest.mark.parametrize(
    ("literal", "reason"),
    [
        ("NaN", "NaN is not JSON"),
        ("Infinity", "Infinity is not JSON"),
        ("-Infinity", "-Infinity is not JSON"),
        ("1e400", "out of range"),
    ],
)
def test_non_finite_numbers_are_400_not_stored_as_null(alice: Api, literal: str, reason: str) -> None:
    # Given a task
    task = alice.create(prompt_template="Hello {{ x }}")
    # When a variable is NaN, Infinity or 1e400 in preview and in execute
    for action in ("preview", "execute"):
        message = _bad_request_message(
            alice, '{"variables": {"x": ' + literal + "}}", f"/api/v1/tasks/{task['id']}/{action}"
        )
        # Then 400 saying why (they were accepted and stored as null: "Hello None")
        assert reason in message


def test_a_duplicate_key_is_400_not_last_wins(alice: Api) -> None:
    # Given a body naming "name" twice
    body = '{"name": "a", "name": "b", "prompt_template": "x", "allowed_tools": [], "sdk_options": {}}'
    # When it is posted / Then 400 naming the key
    assert "'name' appears more than once" in _bad_request_message(alice, body)


def test_a_duplicate_key_in_a_nested_object_is_400(alice: Api) -> None:
    task = alice.create(prompt_template="Hello {{ x }}")
    message = _bad_request_message(
        alice, '{"variables": {"x": 1, "x": 2}}', f"/api/v1/tasks/{task['id']}/preview"
    )
    assert "'x' appears more than once" in message


@pytest.mark.parametrize(
    ("number", "rendered"),
    [
        ("2.0", "Hello 2.0"),
        ("1e20", "Hello 1e20"),
        (
            "123456789012345678901234567890123456789012345",
            "Hello 123456789012345678901234567890123456789012345",
        ),
        ("-0.5", "Hello -0.5"),
        ("7", "Hello 7"),
    ],
)
def test_a_number_variable_previews_and_runs_exactly_as_written(
    alice: Api, number: str, rendered: str
) -> None:
    # Given a task whose prompt uses a numeric variable
    task = alice.create(prompt_template="Hello {{ x }}")
    body = '{"variables": {"x": ' + number + "}}"
    # When it is previewed
    status, preview, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/preview", body)
    assert status == 200, preview
    # And executed (stored; the 45-digit integer was a 500: decimal.Inexact)
    status, started, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/execute", body)
    assert status == 202, started
    stored = execution_store.get(started["id"])
    assert stored is not None
    # Then the preview shows the number as written, and the stored variables render the same
    assert preview["rendered_prompt"] == rendered
    stored_task_ = stored_task("alice", prompt_template="Hello {{ x }}")
    execution_id = pending_execution(stored_task_, stored.prompt_variables)
    workflow.prepare(execution_id)
    ran = execution_store.get(execution_id)
    assert ran is not None
    assert ran.rendered_prompt == rendered


def test_a_number_variable_is_answered_as_a_number(alice: Api) -> None:
    task = alice.create(prompt_template="Hello {{ x }} {{ y }}")
    body = '{"variables": {"x": 2.5, "y": 123456789012345678901234567890123456789012345}}'
    status, started, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/execute", body)
    assert status == 202, started
    assert started["prompt_variables"] == {"x": 2.5, "y": 123456789012345678901234567890123456789012345}


def test_variables_from_python_keep_their_types() -> None:
    request = ExecuteRequest.model_validate({"variables": {"a": True, "b": 3, "c": 2.0, "d": "text"}})
    assert [type(v).__name__ for v in request.variables.values()] == ["bool", "int", "JsonNumber", "str"]
    assert str(request.variables["c"]) == "2.0"


def test_a_valid_body_still_creates(alice: Api) -> None:
    status, _, _ = alice.call(
        "POST", "/api/v1/tasks", valid_task(sdk_options={"max_turns": 10, "max_budget_usd": 2.5})
    )
    assert status == 201


@pytest.mark.parametrize("action", ["preview", "execute"])
@pytest.mark.parametrize("body", ["[null, null]", '"text"', "3"])
def test_a_body_that_is_not_an_object_is_422(alice: Api, action: str, body: str) -> None:
    # Given a task / When preview or execute gets JSON that is not an object (it was taken as no body)
    task = alice.create()
    status, payload, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/{action}", body)
    # Then 422 naming the body
    assert status == 422, payload
    assert payload["error"]["details"][0]["loc"] == ["body"]


@pytest.mark.parametrize("body", [None, "null"])
def test_no_body_or_null_means_no_variables(alice: Api, body: str | None) -> None:
    task = alice.create(prompt_template="Hello")
    status, payload, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/preview", body)
    assert status == 200, payload
