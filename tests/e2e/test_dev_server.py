"""`make dev` end to end: the API front on HTTP with the JWT authorizer in front of it."""

from __future__ import annotations

import httpx2 as httpx
import pytest

from agent_tasks_local.jwt_dev import DevIssuer
from tests.support.aws_stack import local_only
from tests.support.dev_server import DevServer, start_dev_server, stop_dev_server

pytestmark = pytest.mark.e2e


def test_health_answers_200_with_a_valid_token(dev_server: DevServer) -> None:
    with dev_server.client("alice") as client:
        response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "environment": "local", "user_id": "alice"}


def test_health_answers_401_without_a_token(dev_server: DevServer) -> None:
    response = httpx.get(f"{dev_server.base_url}/api/v1/health")
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_a_token_signed_by_another_key_gets_401(dev_server: DevServer, tmp_path: object) -> None:
    from pathlib import Path

    forged = DevIssuer.load_or_create(Path(str(tmp_path))).mint("alice")
    response = httpx.get(
        f"{dev_server.base_url}/api/v1/health", headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401


def test_an_expired_token_gets_401(dev_server: DevServer) -> None:
    expired = dev_server.token("alice", "--ttl", "-60")
    response = httpx.get(
        f"{dev_server.base_url}/api/v1/health", headers={"Authorization": f"Bearer {expired}"}
    )
    assert response.status_code == 401


def test_a_token_for_another_audience_gets_401(dev_server: DevServer) -> None:
    other = dev_server.token("alice", "--audience", "another-api")
    response = httpx.get(f"{dev_server.base_url}/api/v1/health", headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 401


def test_the_openapi_document_and_swagger_ui_need_no_token(dev_server: DevServer) -> None:
    document = httpx.get(f"{dev_server.base_url}/api/v1/openapi.json")
    assert document.status_code == 200
    assert "/api/v1/health" in document.json()["paths"]
    docs = httpx.get(f"{dev_server.base_url}/api/v1/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


def test_an_unknown_route_is_404_like_api_gateway(dev_server: DevServer) -> None:
    with dev_server.client("alice") as client:
        assert client.get("/api/v1/nope").status_code == 404


@local_only
def test_ctrl_c_stops_the_dev_server_cleanly(tmp_path: object) -> None:
    from pathlib import Path

    server = start_dev_server(Path(str(tmp_path)))
    assert stop_dev_server(server) == 0
    assert any("stopping" in line for line in server.output)
