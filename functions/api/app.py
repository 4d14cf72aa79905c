"""The API function: one Powertools router for every route of the HTTP API."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_tasks.observability import logger, metrics, tracer
from api_routes import audit, errors, health, tasks

API_PREFIX = "/api/v1"
OPENAPI_TITLE = "Agent Tasks API"
OPENAPI_VERSION = "1.0.0"

app = APIGatewayHttpResolver(enable_validation=True)
errors.register(app)
app.include_router(health.router, prefix=API_PREFIX)
app.include_router(tasks.router, prefix=API_PREFIX)
app.include_router(audit.router, prefix=API_PREFIX)
app.enable_swagger(path=f"{API_PREFIX}/docs", title=OPENAPI_TITLE, version=OPENAPI_VERSION)


@app.get(f"{API_PREFIX}/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=app.get_openapi_json_schema(title=OPENAPI_TITLE, version=OPENAPI_VERSION),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = app.resolve(event, context)
    status = int(response.get("statusCode", 500))
    metrics.add_metric(name="ApiRequests", unit=MetricUnit.Count, value=1)
    if status >= 500:
        metrics.add_metric(name="Api5xx", unit=MetricUnit.Count, value=1)
    elif status >= 400:
        metrics.add_metric(name="Api4xx", unit=MetricUnit.Count, value=1)
    return response
