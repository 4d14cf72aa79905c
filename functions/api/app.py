"""The API function: one Powertools router for every route of the HTTP API."""

from __future__ import annotations

import functools
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_tasks.observability import logger, metrics, tracer
from agent_tasks.reports.document import ReportDocument
from api_routes import (
    audit,
    body_guard,
    errors,
    executions,
    health,
    reports,
    schedule_runs,
    sessions,
    tasks,
)
from api_routes.errors import ErrorResponse

API_PREFIX = "/api/v1"
OPENAPI_TITLE = "Agent Tasks API"
OPENAPI_VERSION = "1.0.0"

app = APIGatewayHttpResolver(enable_validation=True)
errors.register(app)
app.include_router(health.router, prefix=API_PREFIX)
app.include_router(tasks.router, prefix=API_PREFIX)
app.include_router(audit.router, prefix=API_PREFIX)
app.include_router(executions.router, prefix=API_PREFIX)
app.include_router(schedule_runs.router, prefix=API_PREFIX)
app.include_router(sessions.router, prefix=API_PREFIX)
app.include_router(reports.router, prefix=API_PREFIX)
app.enable_swagger(path=f"{API_PREFIX}/docs", title=OPENAPI_TITLE, version=OPENAPI_VERSION)


@functools.cache  # the routes are fixed once the module is loaded
def _openapi_document() -> str:
    """The OpenAPI document, with Powertools' default 422 schema replaced by our one error shape."""
    document = json.loads(app.get_openapi_json_schema(title=OPENAPI_TITLE, version=OPENAPI_VERSION))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["ErrorResponse"] = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schemas["ErrorResponse"].pop("$defs", {}))
    # The versioned document a JSON report holds (downloaded from a report's download_url).
    schemas["ReportDocument"] = ReportDocument.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schemas["ReportDocument"].pop("$defs", {}))
    for operation in (op for path in document.get("paths", {}).values() for op in path.values()):
        for status, answer in operation.get("responses", {}).items():
            if status == "204":
                answer.pop("content", None)
            elif status == "422":
                answer["description"] = "Well-formed but invalid input; `details` name each field and why."
                answer["content"] = {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
                }
    return json.dumps(document)


@app.get(f"{API_PREFIX}/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=_openapi_document())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = body_guard.rejected(event) or app.resolve(event, context)
    status = int(response.get("statusCode", 500))
    metrics.add_metric(name="ApiRequests", unit=MetricUnit.Count, value=1)
    if status >= 500:
        metrics.add_metric(name="Api5xx", unit=MetricUnit.Count, value=1)
    elif status >= 400:
        metrics.add_metric(name="Api4xx", unit=MetricUnit.Count, value=1)
    return response
