"""HTTP as the RFCs say: strong If-Match (RFC 9110 §13.1.1), Bearer challenges on 401 (RFC 6750 §3)."""

from __future__ import annotations

import pytest

from tests.support.api_calls import Api
from tests.support.events import http_api_event
from tests.support.fixtures import LambdaClient, response_json


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_a_weak_if_match_is_412_even_for_the_current_version(alice: Api, method: str) -> None:
    # Given a task at version 1
    task = alice.create()
    body = {"description": "changed"} if method == "PATCH" else None
    # When it is changed with If-Match: W/"1" (weak tags never match in If-Match)
    status, payload, _ = alice.call(
        method, f"/api/v1/tasks/{task['id']}", body, headers={"If-Match": 'W/"1"'}
    )
    # Then 412 and nothing changed
    assert status == 412, payload
    assert alice.call("GET", f"/api/v1/tasks/{task['id']}")[1]["version"] == 1


@pytest.mark.parametrize("if_match", ['"1"', '"7", "1"', "*"])
def test_a_strong_matching_if_match_is_honoured(alice: Api, if_match: str) -> None:
    task = alice.create()
    status, payload, _ = alice.call(
        "PATCH", f"/api/v1/tasks/{task['id']}", {"description": "changed"}, headers={"If-Match": if_match}
    )
    assert status == 200, payload


def test_an_unquoted_if_match_is_not_a_match(alice: Api) -> None:
    task = alice.create()
    status, _, _ = alice.call(
        "PATCH", f"/api/v1/tasks/{task['id']}", {"description": "x"}, headers={"If-Match": "1"}
    )
    assert status == 412


def test_a_401_from_the_function_carries_a_bearer_challenge(api: LambdaClient) -> None:
    # Given a request whose token has no subject
    # When it reaches the function / Then 401 with WWW-Authenticate naming the token as invalid
    response = api(http_api_event("GET", "/api/v1/tasks", user=None))
    assert response["statusCode"] == 401
    assert response["headers"]["WWW-Authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/v1/tasks/some-id", "DELETE, GET, PATCH"),
        ("TRACE", "/api/v1/health", "GET"),
        ("DELETE", "/api/v1/tasks", "GET, POST"),
        ("POST", "/api/v1/openapi.json", "GET"),
    ],
)
def test_an_unsupported_method_on_a_known_path_is_405_with_allow(
    api: LambdaClient, method: str, path: str, allow: str
) -> None:
    # Given a known path / When it is called with a method it does not answer (the catch-all route)
    event = http_api_event(method, path, user="alice", route="/api/v1/{proxy+}")
    response = api(event)
    # Then 405 naming the methods it does answer (it was a 404)
    assert response["statusCode"] == 405, response
    assert response["headers"]["Allow"] == allow


def test_an_unknown_path_is_still_404(api: LambdaClient) -> None:
    response = api(http_api_event("GET", "/api/v1/nothing-here", user="alice", route="/api/v1/{proxy+}"))
    assert response["statusCode"] == 404


def test_a_known_method_with_an_id_no_route_takes_is_404_not_405(api: LambdaClient) -> None:
    # Given an id with control characters, which no route's parameter matches
    response = api(http_api_event("GET", "/api/v1/reports/\x9a\x1f", user="alice", route="/api/v1/{proxy+}"))
    # Then 404: GET is allowed there, the resource just does not exist
    assert response["statusCode"] == 404


def test_a_task_list_page_past_100_without_a_cursor_is_refused_naming_the_field(api: LambdaClient) -> None:
    # Given a page number that would make the list walk 100,000 pages before answering
    response = api(http_api_event("GET", "/api/v1/tasks", user="alice", query={"page": "5000"}))
    # Then it is a 422 naming the parameter (beyond page 100, a list is followed by next_cursor)
    assert response["statusCode"] == 422
    details = response_json(response)["error"]["details"]
    assert details[0]["loc"] == ["query", "page"]
