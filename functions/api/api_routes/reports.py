"""Reports: one report's metadata with a presigned download URL, and a task's reports (owner only)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from agent_tasks.models.common import Page
from agent_tasks.models.reports import ReportResponse
from agent_tasks.services import reports as service
from api_routes.context import caller_id
from api_routes.responses import Cursor, PageSize, WalkedPage, documented, json_response

router = APIGatewayHttpRouter()


@router.get(
    "/reports/<report_id>",
    summary="Get a report: metadata and a presigned download URL",
    tags=["reports"],
    responses=documented(200, ReportResponse, "The report; `download_url` expires at `expires_at`.", 404),
)
def get_report(report_id: str) -> Response[str]:
    return json_response(200, service.own_report(caller_id(router), report_id))


@router.get(
    "/tasks/<task_id>/reports",
    summary="List a task's reports, newest first",
    tags=["reports"],
    responses=documented(200, Page[ReportResponse], "A page of reports.", 400, 404, 422),
)
def list_reports(
    task_id: str,
    page: WalkedPage = 1,
    page_size: PageSize = 20,
    cursor: Cursor = None,
) -> Response[str]:
    result = service.list_for_task(caller_id(router), task_id, page=page, page_size=page_size, cursor=cursor)
    return json_response(200, result)
