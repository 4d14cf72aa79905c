"""The local front answers as API Gateway's HTTP API does before any function runs: 401 with a
Bearer challenge (RFC 6750 §3) and 413 for a body over 10 MB."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request

from agent_tasks_local.front import MAX_BODY_BYTES, ApiFront, routes_from_template
from agent_tasks_local.jwt_dev import DevIssuer
from tests.support.template import template


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Client:
    issuer = DevIssuer.load_or_create(Path(tmp_path_factory.mktemp("issuer")))
    api = ApiFront(
        routes=routes_from_template(template(), "ApiFunction"),
        function_name="not-invoked",
        issuer=issuer,
        region="us-east-1",
        account="123456789012",
    )
    return Client(api)


def test_without_a_token_401_carries_a_bearer_challenge(front: Client) -> None:
    # When a protected route is called without a token
    response = front.get("/api/v1/tasks")
    # Then 401 with WWW-Authenticate: Bearer
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("authorization", ["Bearer not-a-jwt", "Basic YWxpY2U6c2VjcmV0"])
def test_with_a_bad_token_401_says_invalid_token(front: Client, authorization: str) -> None:
    response = front.get("/api/v1/tasks", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_a_body_over_10_mb_is_413_before_anything_runs(front: Client) -> None:
    # Given a body one byte over API Gateway's 10 MB limit
    body = b"{" + b" " * (MAX_BODY_BYTES - 1) + b"}"
    # When it is posted (even without a token, as the gateway refuses it first)
    response = front.post("/api/v1/tasks", data=body, content_type="application/json")
    # Then 413
    assert response.status_code == 413
    assert MAX_BODY_BYTES == 10 * 1024 * 1024


def test_a_chunked_body_over_10_mb_is_413(front: Client) -> None:
    # Given a body sent without Content-Length (chunked), as the dev server hands it to the front
    environ = EnvironBuilder(
        "/api/v1/tasks",
        method="POST",
        input_stream=io.BytesIO(b" " * (MAX_BODY_BYTES + 1)),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    # When it is posted / Then 413, once 10 MB have been read
    response = front.application.handle(Request(environ))  # type: ignore[attr-defined]
    assert response.status_code == 413
