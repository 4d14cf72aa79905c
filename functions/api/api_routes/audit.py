"""/audit-events: the caller's own trail."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from agent_tasks.models.audit import AuditEvent
from agent_tasks.models.common import Page
from agent_tasks.services import audit as service
from api_routes.context import caller_id
from api_routes.responses import PageSize, documented, json_response

router = APIGatewayHttpRouter()


@router.get(
    "/audit-events",
    summary="Your audit trail, newest first",
    tags=["audit"],
    responses=documented(200, Page[AuditEvent], "A page of audit events.", 400, 422),
)
def list_audit_events(
    page_size: PageSize = 20,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response[str]:
    return json_response(200, service.list_events(caller_id(router), page_size=page_size, cursor=cursor))
