"""The API front takes its routes from template.yaml, as API Gateway does."""

from __future__ import annotations

from agent_tasks_local.front import routes_from_template
from tests.support.template import template


def test_every_route_of_the_api_function_is_explicit_and_read_from_the_template() -> None:
    routes = routes_from_template(template(), "ApiFunction")
    keys = {r.route_key for r in routes}
    assert "GET /api/v1/health" in keys
    assert "GET /api/v1/tasks/{task_id}" in keys
    # Only the catch-all (405/404 answers) is greedy; every operation has its own route
    assert [r.route_key for r in routes if "proxy+" in r.path] == ["ANY /api/v1/{proxy+}"]


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


def test_every_other_request_under_the_api_reaches_the_function_through_one_greedy_route_last() -> None:
    # Given the template's routes
    routes = routes_from_template(template(), "ApiFunction")
    # Then the one greedy route comes last and takes any method and any depth of path
    assert routes[-1].route_key == "ANY /api/v1/{proxy+}"
    assert routes[-1].pattern.match("/api/v1/tasks/abc/unknown/deeper")
    assert [r for r in routes if "+}" in r.path] == [routes[-1]]
