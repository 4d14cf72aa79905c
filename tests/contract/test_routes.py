"""The template's routes and the API function's routes are the same set, and the document says so."""

from __future__ import annotations

import json
from typing import Any

from agent_tasks_local.front import routes_from_template
from tests.support.fixtures import load_function
from tests.support.template import template


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(load_function("api")._openapi_document())
    return document


def test_every_template_route_is_documented_and_every_documented_route_is_in_the_template() -> None:
    # Given the routes API Gateway will have (the template) and the ones the function serves
    from_template = {
        (r.method, r.path)
        for r in routes_from_template(template(), "ApiFunction")
        if r.needs_auth and r.method != "ANY"  # the catch-all answers 405/404, it is no operation
    }
    documented = {
        (method.upper(), path) for path, operations in _document()["paths"].items() for method in operations
    }
    # Then they are the same set: no route 404s at the gateway, none is missing from the function
    assert from_template == documented


def test_every_operation_documents_401_and_the_one_error_shape() -> None:
    for path, operations in _document()["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "401" in responses, (method, path)
            for status, answer in responses.items():
                if status.startswith(("4", "5")):
                    schema = answer["content"]["application/json"]["schema"]
                    error = {"$ref": "#/components/schemas/ErrorResponse"}
                    if status in {"401", "413", "429"}:  # API Gateway answers these too, in its own shape
                        assert schema == {"anyOf": [error, {"$ref": "#/components/schemas/GatewayError"}]}
                    else:
                        assert schema == error, (method, path, status)


def test_every_operation_documents_what_any_request_can_be_answered() -> None:
    # Given the statuses answered before a route runs (body checks) or by the gateway
    for path, operations in _document()["paths"].items():
        for method, operation in operations.items():
            # Then every operation documents them (415 on POST /tasks was missing)
            assert {"400", "401", "413", "415", "422", "429"} <= set(operation["responses"]), (method, path)


def test_the_report_document_schema_is_published() -> None:
    schemas = _document()["components"]["schemas"]
    assert schemas["ReportDocument"]["properties"]["schema_version"]["const"] == "1.0"


def test_the_document_is_a_valid_openapi_document() -> None:
    # Given the document the API serves
    from openapi_spec_validator import validate

    # When it is validated against the OpenAPI specification / Then nothing is wrong with it
    # (it pointed at #/components/schemas/ValidationError, which was deleted: PointerToNowhere)
    validate(_document())
