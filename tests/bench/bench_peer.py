"""A bench-only peer of the API function: FastAPI behind Mangum, over the same service and store code.

It serves the routes the benchmarks call (create, get, list tasks) the way a FastAPI service
would, answers with the same bodies and headers, and is wrapped in the same Powertools
logger/tracer/metrics decorators as functions/api/app.py, so a comparison measures the
framework and nothing else. Importing this module builds the apps, as a Lambda cold start would.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.logging import correlation_paths
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from mangum import Mangum

from agent_tasks import errors
from agent_tasks.models.common import API_BASE
from agent_tasks.models.tasks import Task, TaskCreate, TaskFilters, TaskResponse
from agent_tasks.observability import logger, metrics, tracer
from agent_tasks.services import tasks as service
from agent_tasks.services.actor import Actor

_STATUS = {
    errors.BadRequestError: 400,
    errors.UnauthorizedError: 401,
    errors.ForbiddenError: 403,
    errors.NotFoundError: 404,
    errors.ConflictError: 409,
    errors.PreconditionFailedError: 412,
    errors.ValidationFailedError: 422,
    errors.ThrottledError: 429,
}


def _caller(request: Request) -> Actor:
    context = request.scope["aws.event"]["requestContext"]
    claims = ((context.get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise errors.UnauthorizedError("the token has no subject (sub) claim")
    return Actor(user_id=subject, request_id=context.get("requestId") or "")


def _answer(status: int, task: Task, *, reveal_secret: bool = False) -> Response:
    headers = {"ETag": task.etag}
    if status == 201:
        headers["Location"] = f"{API_BASE}/tasks/{task.id}"
    body = TaskResponse.of(task, reveal_webhook_secret=reveal_secret).model_dump_json(by_alias=True)
    return Response(content=body, status_code=status, headers=headers, media_type="application/json")


def _domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.DomainError)
    status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 500)
    return JSONResponse(
        {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}, status_code=status
    )


def _create(request: Request, body: TaskCreate) -> Response:
    return _answer(201, service.create_task(_caller(request), body), reveal_secret=True)


def _get(request: Request, task_id: str) -> Response:
    return _answer(200, service.read_task(_caller(request), task_id))


def _list(
    request: Request,
    tags: Annotated[str | None, Query(max_length=2000)] = None,
    is_scheduled: bool | None = None,
    is_active: bool | None = None,
    q: Annotated[str | None, Query(max_length=255)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response:
    filters = TaskFilters(
        tags=tuple(t.strip() for t in (tags or "").split(",") if t.strip()),
        is_scheduled=is_scheduled,
        is_active=is_active,
        q=q or None,
    )
    result = service.list_tasks(_caller(request), filters, page=page, page_size=page_size, cursor=cursor)
    return Response(content=result.model_dump_json(by_alias=True), media_type="application/json")


def build_app(*, async_routes: bool) -> FastAPI:
    """Sync routes are FastAPI's advice for blocking I/O (they run in its thread pool); async routes
    skip the thread hop, which is harmless in Lambda's one-request-at-a-time process."""
    app = FastAPI(title="Agent Tasks API (bench peer)")
    app.add_exception_handler(errors.DomainError, _domain_error)
    routes: list[tuple[str, str, Any, int]] = [
        ("POST", "/tasks", _create, 201),
        ("GET", "/tasks", _list, 200),
        ("GET", "/tasks/{task_id}", _get, 200),
    ]
    for method, path, endpoint, status in routes:
        function = endpoint
        if async_routes:
            function = _as_async(endpoint)
        app.add_api_route(f"{API_BASE}{path}", function, methods=[method], status_code=status)
    return app


def _as_async(endpoint: Any) -> Any:
    import functools

    @functools.wraps(endpoint)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        return endpoint(*args, **kwargs)

    return wrapper


def _lambda_handler(app: FastAPI) -> Any:
    asgi = Mangum(app, lifespan="off")

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        response: dict[str, Any] = asgi(event, context)
        status = int(response.get("statusCode", 500))
        metrics.add_metric(name="ApiRequests", unit="Count", value=1)
        if status >= 500:
            metrics.add_metric(name="Api5xx", unit="Count", value=1)
        elif status >= 400:
            metrics.add_metric(name="Api4xx", unit="Count", value=1)
        return response

    return lambda_handler


lambda_handler = _lambda_handler(build_app(async_routes=False))


def async_routes_handler() -> Any:
    """The same peer with `async def` routes (built on demand, so a cold start pays for one app)."""
    return _lambda_handler(build_app(async_routes=True))
