"""The API function: one Powertools router for every route of the HTTP API."""

from __future__ import annotations

import functools
import importlib
import json
import re
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_tasks import jsontext
from agent_tasks.models.tasks import PublicTaskResponse
from agent_tasks.observability import logger, metrics, tracer
from agent_tasks.settings import get_settings
from api_routes import body_guard, errors, health, tasks
from api_routes.errors import ErrorResponse

# A missing required setting fails the cold start, naming the variable (not the first call).
get_settings().require("state_machine_arn")

API_PREFIX = "/api/v1"
OPENAPI_TITLE = "Agent Tasks API"
OPENAPI_VERSION = "1.0.0"

# Bodies are parsed strictly: depth-limited, no NaN/Infinity, no duplicate keys, numbers as written.
app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=jsontext.loads)
errors.register(app, lambda path: _methods_of(path))
# The routers, in the order they are included (the OpenAPI document lists paths in that order).
# A cold start imports only the first two: the task routes answer the requests a function most
# often starts on (create, get, list), and the other routers' services and models are a large
# share of the import. The rest, and the Swagger UI (Powertools' OpenAPI models), are included on
# the first request for any other path (`_include_every_router`), before routing, so each answer
# is what it would be with every router included from the start.
app.include_router(health.router, prefix=API_PREFIX)
app.include_router(tasks.router, prefix=API_PREFIX)
_LATER_ROUTERS = ("audit", "executions", "schedule_runs", "sessions", "reports", "secrets", "limits")
# The paths only the routers above answer: no route of a later router matches one of them, with any
# method (tests/unit/api/test_lazy_routers.py checks it against the whole document).
_EARLY_PATHS = re.compile(
    rf"^{re.escape(API_PREFIX)}/(?:health|tasks(?:/[^/]+(?:/restore|/webhook-secret/rotate)?)?)$"
)


@functools.cache  # once per process
def _include_every_router() -> None:
    for name in _LATER_ROUTERS:
        router = importlib.import_module(f"api_routes.{name}").router
        app.include_router(router, prefix=API_PREFIX)
    app.enable_swagger(path=f"{API_PREFIX}/docs", title=OPENAPI_TITLE, version=OPENAPI_VERSION)


_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
# What API Gateway itself answers (401 from the JWT authorizer, 413, 429) before the function runs.
_GATEWAY_ERROR = {
    "type": "object",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
    "title": "GatewayError",
    "description": 'An answer from API Gateway itself, e.g. {"message": "Unauthorized"}.',
}
_FUNCTION_OR_GATEWAY = {
    "anyOf": [{"$ref": "#/components/schemas/ErrorResponse"}, {"$ref": "#/components/schemas/GatewayError"}]
}
# Statuses any operation can answer, whatever its own: the body is checked before routing
# (api_routes/body_guard.py and the strict JSON parser), and the gateway limits size and rate.
_EVERY_OPERATION: dict[str, dict[str, Any]] = {
    "400": {
        "description": "Malformed request: the body is not UTF-8 JSON (or nests deeper than 64, repeats a "
        "key, holds NaN or Infinity), or a cursor is not one the API issued.",
        "content": _ERROR,
    },
    "413": {"description": "The body is over 10 MB, or what it would store is too large."},
    "415": {"description": "The body is not application/json.", "content": _ERROR},
    "429": {"description": "Throttled; retry later."},
}
_ALSO_FROM_THE_GATEWAY = ("401", "413", "429")


@functools.cache  # the routes are fixed once the module is loaded
def _openapi_document() -> str:
    """The OpenAPI document, with Powertools' default 422 schema replaced by our one error shape."""
    from agent_tasks.reports.document import ReportDocument  # only the document names it

    _include_every_router()
    document = json.loads(app.get_openapi_json_schema(title=OPENAPI_TITLE, version=OPENAPI_VERSION))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)  # Powertools' shapes; we answer ErrorResponse instead
    schemas["GatewayError"] = _GATEWAY_ERROR
    schemas["ErrorResponse"] = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schemas["ErrorResponse"].pop("$defs", {}))
    # The versioned document a JSON report holds (downloaded from a report's download_url).
    schemas["ReportDocument"] = ReportDocument.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schemas["ReportDocument"].pop("$defs", {}))
    # GET /tasks/{id} answers another user's public task in the reduced view (api_routes/tasks.py).
    schemas["PublicTaskResponse"] = PublicTaskResponse.model_json_schema(
        ref_template="#/components/schemas/{model}", by_alias=True
    )
    schemas.update(schemas["PublicTaskResponse"].pop("$defs", {}))
    get_task = document["paths"][f"{API_PREFIX}/tasks/{{task_id}}"]["get"]["responses"]["200"]
    get_task["content"]["application/json"]["schema"] = {
        "anyOf": [
            {"$ref": "#/components/schemas/TaskResponse"},
            {"$ref": "#/components/schemas/PublicTaskResponse"},
        ]
    }
    for operation in (op for path in document.get("paths", {}).values() for op in path.values()):
        operation["responses"].update(
            {
                status: dict(answer)
                for status, answer in _EVERY_OPERATION.items()
                if status not in operation["responses"]
            }
        )
        for status in _ALSO_FROM_THE_GATEWAY:
            operation["responses"][status]["content"] = {"application/json": {"schema": _FUNCTION_OR_GATEWAY}}
        for status, answer in operation.get("responses", {}).items():
            if status == "204":
                answer.pop("content", None)
            elif status == "422":
                answer["description"] = "Well-formed but invalid input; `details` name each field and why."
                answer["content"] = {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
                }
    return json.dumps(document)


@functools.cache
def _allowed_methods() -> dict[str, list[str]]:
    """Each path (as a template, e.g. /api/v1/tasks/{task_id}) and the methods it answers."""
    document = json.loads(_openapi_document())
    allowed = {path: sorted(m.upper() for m in operations) for path, operations in document["paths"].items()}
    return {**allowed, f"{API_PREFIX}/openapi.json": ["GET"], f"{API_PREFIX}/docs": ["GET"]}


@functools.cache
def _path_patterns() -> list[tuple[re.Pattern[str], str]]:
    return [
        (re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$"), path)
        for path in _allowed_methods()
    ]


def _methods_of(path: str) -> list[str]:
    """The methods a request path answers (none for an unknown path)."""
    template = next((template for pattern, template in _path_patterns() if pattern.match(path)), None)
    return _allowed_methods()[template] if template else []


@app.get(f"{API_PREFIX}/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=_openapi_document())


def _resolve(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if not _EARLY_PATHS.match(event.get("rawPath") or ""):
        _include_every_router()
    return app.resolve(event, context)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = body_guard.rejected(event) or _resolve(event, context)
    status = int(response.get("statusCode", 500))
    metrics.add_metric(name="ApiRequests", unit=MetricUnit.Count, value=1)
    if status >= 500:
        metrics.add_metric(name="Api5xx", unit=MetricUnit.Count, value=1)
    elif status >= 400:
        metrics.add_metric(name="Api4xx", unit=MetricUnit.Count, value=1)
    return response
