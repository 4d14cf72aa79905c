"""OpenAPI descriptions of answers, so every route documents its statuses and the one error shape."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

from api_routes.errors import ErrorResponse

_ERROR_TEXT = {
    400: "Malformed request (not JSON, bad cursor).",
    401: "Missing or invalid bearer token.",
    403: "Visible, but not yours to change.",
    404: "No such resource (or not yours).",
    409: "Conflicts with the current state (e.g. a duplicate name).",
    412: "If-Match does not match the current version.",
    422: "Well-formed but invalid input; `details` name each field and why.",
    429: "Throttled, or your spend cap is reached (`spend_cap_reached`: the cap and `resets_at` in `ctx`).",
}

# The query parameters of a cursor-paged list (a route with other bounds spells its own).
PageSize = Annotated[int, Query(ge=1, le=100)]
# A list read in key order: without a cursor, page n walks the pages before it, so page is at most 100
# there (services/paging.check_walk, a 422 naming query.page); with a cursor, the cursor's page counts.
WalkedPage = Annotated[
    int,
    Query(ge=1, le=100_000, description="Without `cursor`, at most 100: beyond it, follow `next_cursor`."),
]
Cursor = Annotated[str | None, Query(max_length=2000, description="Opaque; from `next_cursor`.")]


def documented(success: int, model: type[BaseModel] | None, description: str, *errors: int) -> dict[int, Any]:
    answers: dict[int, Any] = {success: {"description": description}}
    if model is not None:
        answers[success]["content"] = {"application/json": {"model": model}}
    for status in (401, *errors):
        answers[status] = {
            "description": _ERROR_TEXT[status],
            "content": {"application/json": {"model": ErrorResponse}},
        }
    return answers


def json_response(status: int, model: BaseModel, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=model.model_dump_json(by_alias=True),
        headers=headers or {},
    )
