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
from api_routes.responses import PageSize, documented, json_response

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
    description="Page through the transcript with `page` or `cursor`; or follow a run with `after=<seq>` "
    "(only newer messages; the execution answer's `last_message_seq` says where it stood) and `wait` "
    "(seconds to wait for one when none is newer yet, unless the execution has ended). With `after`, "
    "`total` is the newest stored seq.",
    tags=["sessions"],
    responses=documented(200, Page[MessageResponse], "A page of messages.", 400, 404, 422),
)
def list_messages(
    session_id: str,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: PageSize = 50,
    cursor: Annotated[str | None, Query(max_length=1000, description="Opaque; from `next_cursor`.")] = None,
    after: Annotated[
        int | None, Query(ge=0, le=99_999_999, description="Only messages with a greater `seq`.")
    ] = None,
    wait: Annotated[
        int,
        Query(
            ge=0, le=service.MAX_WAIT_SECONDS, description="With `after`: seconds to wait for a new message."
        ),
    ] = 0,
) -> Response[str]:
    result = service.list_messages(
        caller_id(router), session_id, page=page, page_size=page_size, cursor=cursor, after=after, wait=wait
    )
    return json_response(200, result)
