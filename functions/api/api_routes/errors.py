"""The one place where errors become HTTP answers, all in one shape:

    {"error": {"code": "...", "message": "...", "details": [...]}}

No stack trace or internal message ever reaches a client.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from agent_tasks import errors
from agent_tasks.observability import logger

STATUS_BY_ERROR: dict[type[errors.DomainError], HTTPStatus] = {
    errors.BadRequestError: HTTPStatus.BAD_REQUEST,
    errors.UnauthorizedError: HTTPStatus.UNAUTHORIZED,
    errors.ForbiddenError: HTTPStatus.FORBIDDEN,
    errors.NotFoundError: HTTPStatus.NOT_FOUND,
    errors.ConflictError: HTTPStatus.CONFLICT,
    errors.PreconditionFailedError: HTTPStatus.PRECONDITION_FAILED,
    errors.ValidationFailedError: HTTPStatus.UNPROCESSABLE_ENTITY,
    errors.ContentTooLargeError: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    errors.ThrottledError: HTTPStatus.TOO_MANY_REQUESTS,
}


class ErrorDetail(BaseModel):
    loc: list[str | int] = Field(
        default_factory=list, description="Where the problem is, e.g. ['body', 'name']."
    )
    msg: str
    type: str
    line: int | None = Field(default=None, description="Line in a template, where one is at fault.")
    ctx: dict[str, Any] | None = Field(
        default=None,
        description="Figures behind the error, e.g. a spend cap's cap_usd, spent_usd, resets_at.",
    )


class ErrorBody(BaseModel):
    code: str = Field(description="Stable, machine-readable error code.")
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """The shape of every error answer."""

    error: ErrorBody


def error_response(
    status: HTTPStatus, code: str, message: str, details: list[dict[str, Any]]
) -> Response[str]:
    body = ErrorResponse(
        error=ErrorBody(code=code, message=message, details=[ErrorDetail(**d) for d in details])
    )
    return Response(
        status_code=status.value, content_type=content_types.APPLICATION_JSON, body=body.model_dump_json()
    )


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors():
        loc = [part for part in err.get("loc", ()) if isinstance(part, str | int)]
        message = str(err.get("msg", "invalid"))
        if err.get("type") == "json_invalid" and (reason := (err.get("ctx") or {}).get("error")):
            message = f"the body is not valid JSON: {reason}"
        details.append({"loc": loc, "msg": message, "type": str(err.get("type", "invalid"))})
    return details


def register(app: APIGatewayHttpResolver, allowed_methods: Callable[[str], list[str]]) -> None:
    """Map domain, validation and unexpected errors to the one error shape. `allowed_methods(path)`
    names the methods a known path has, so another method on it is a 405 with Allow, not a 404."""

    @app.exception_handler(errors.DomainError)
    def _domain(exc: errors.DomainError) -> Response[str]:
        status = next(
            (s for cls, s in STATUS_BY_ERROR.items() if isinstance(exc, cls)),
            HTTPStatus.INTERNAL_SERVER_ERROR,
        )
        response = error_response(status, exc.code, exc.message, exc.details)
        if status == HTTPStatus.UNAUTHORIZED:  # RFC 6750 §3: a token was sent, and it will not do
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response[str]:
        details = _validation_details(exc)
        # A body that is not JSON at all is a 400; well-formed input that breaks a rule is a 422.
        if any(d["type"] == "json_invalid" for d in details):
            return error_response(
                HTTPStatus.BAD_REQUEST, "bad_request", "the body is not valid JSON", details
            )
        return error_response(
            HTTPStatus.UNPROCESSABLE_ENTITY, "validation_error", "the request is not valid", details
        )

    @app.not_found
    def _no_route(_exc: RouteNotFoundError) -> Response[str]:
        allowed = allowed_methods(app.current_event.path)
        method = app.current_event.http_method.upper()
        if not allowed or method in allowed:  # the method is fine: the id in the path is no id of ours
            return error_response(HTTPStatus.NOT_FOUND, "not_found", "no such route", [])
        response = error_response(
            HTTPStatus.METHOD_NOT_ALLOWED,
            "method_not_allowed",
            f"{method} is not allowed here; allowed: {', '.join(allowed)}",
            [],
        )
        response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error", extra={"error_type": type(exc).__name__})
        return error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "an internal error occurred", []
        )
