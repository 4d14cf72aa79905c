"""The API front takes its routes from template.yaml, as API Gateway does."""

from __future__ import annotations

from agent_tasks_local.front import routes_from_template
from tests.support.template import template


def test_every_route_of_the_api_function_is_explicit_and_read_from_the_template() -> None:
    routes = routes_from_template(template(), "ApiFunction")
    keys = {r.route_key for r in routes}
    assert "GET /api/v1/health" in keys
    assert "GET /api/v1/tasks/{task_id}" in keys
    assert not any("proxy+" in r.path for r in routes)


def test_only_the_documents_are_open_without_a_token() -> None:
    routes = routes_from_template(template(), "ApiFunction")
    open_routes = {r.path for r in routes if not r.needs_auth}
    assert open_routes == {"/api/v1/openapi.json", "/api/v1/docs"}


def test_path_parameters_are_captured_and_literal_routes_win() -> None:
    routes = routes_from_template(template(), "ApiFunction")
    matching = [r for r in routes if r.method == "GET" and r.pattern.match("/api/v1/tasks/abc/executions")]
    assert matching[0].path == "/api/v1/tasks/{task_id}/executions"
    found = matching[0].pattern.match("/api/v1/tasks/abc/executions")
    assert found is not None
    assert found.groupdict() == {"task_id": "abc"}
