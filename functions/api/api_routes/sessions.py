"""Sessions: the session an execution ran in, and its transcript (owner only)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from agent_tasks.models.common import Page
from agent_tasks.models.executions import MessageResponse, SessionResponse
from agent_tasks.services import sessions as service
from api_routes.context import caller_id
from api_routes.responses import documented, json_response

router = APIGatewayHttpRouter()


@router.get(
    "/sessions/<session_id>",
    summary="Get the session an execution ran in",
    tags=["sessions"],
    responses=documented(200, SessionResponse, "The session.", 404),
)
def get_session(session_id: str) -> Response[str]:
    return json_response(200, SessionResponse.of(service.own_session(caller_id(router), session_id)))


@router.get(
    "/sessions/<session_id>/messages",
    summary="The session's messages, in order",
    tags=["sessions"],
    responses=documented(200, Page[MessageResponse], "A page of messages.", 400, 404, 422),
)
def list_messages(
    session_id: str,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000, description="Opaque; from `next_cursor`.")] = None,
) -> Response[str]:
    result = service.list_messages(
        caller_id(router), session_id, page=page, page_size=page_size, cursor=cursor
    )
    return json_response(200, result)
