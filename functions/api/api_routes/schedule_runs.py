"""Run a task's schedule on demand: run now, and backfill the slots of a past range."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from agent_tasks.models.common import API_BASE, utc_now
from agent_tasks.models.executions import ExecutionResponse
from agent_tasks.services import schedule_runs as service
from agent_tasks.services.schedule_runs import BackfillRequest, BackfillResponse, RunNowRequest
from api_routes.context import actor
from api_routes.responses import documented, json_response

router = APIGatewayHttpRouter()


@router.post(
    "/tasks/<task_id>/run-now",
    summary="Run your task's schedule now",
    description="Starts one execution at once (trigger `manual`, `trigger_metadata.run_now`). Under "
    '`overlap_policy: skip` it answers 409 while an earlier run is going, unless `{"force": true}`.',
    tags=["schedules"],
    responses=documented(
        202, ExecutionResponse, "Started; `Location` names the execution.", 400, 404, 409, 422
    ),
)
def run_now(task_id: str, body: Annotated[RunNowRequest | None, Body()] = None) -> Response[str]:
    execution = service.run_now(actor(router), task_id, body or RunNowRequest(), now=utc_now())
    location = f"{API_BASE}/task-executions/{execution.id}"
    return json_response(202, ExecutionResponse.of(execution), {"Location": location})


@router.post(
    "/tasks/<task_id>/backfill",
    summary="Run the slots of a past range of your task's schedule",
    description=f"Every fire time in [from, to] (at most {service.BACKFILL_LIMIT}) gets an execution with "
    "the slot in `trigger_metadata.slot`, started spaced out; slots that already ran are not run again.",
    tags=["schedules"],
    responses=documented(202, BackfillResponse, "Written and queued to start.", 400, 404, 409, 422),
)
def backfill(task_id: str, body: BackfillRequest) -> Response[str]:
    return json_response(202, service.backfill(actor(router), task_id, body, now=utc_now()))
