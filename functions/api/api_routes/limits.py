"""/limits and /usage: the caller's own spend caps and spend (there is no way to name another user's)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from agent_tasks.models.limits import Period, SpendLimitsInput, SpendLimitsResponse, UsageResponse
from agent_tasks.services import spend as service
from api_routes.context import actor
from api_routes.responses import documented, json_response

router = APIGatewayHttpRouter()


@router.get(
    "/limits",
    summary="Your spend caps",
    tags=["limits"],
    responses=documented(200, SpendLimitsResponse, "Your caps (null: no cap)."),
)
def get_limits() -> Response[str]:
    return json_response(200, service.get_limits(actor(router)))


@router.put(
    "/limits",
    summary="Set your spend caps (replaces them; audited)",
    tags=["limits"],
    responses=documented(200, SpendLimitsResponse, "The caps now in force.", 400, 412, 422),
)
def put_limits(body: SpendLimitsInput) -> Response[str]:
    return json_response(200, service.put_limits(actor(router), body))


@router.get(
    "/usage",
    summary="Your spend in the current UTC day or month, in total and per task",
    tags=["limits"],
    responses=documented(200, UsageResponse, "Spend, model calls and tokens in the period.", 422),
)
def get_usage(period: Annotated[Period, Query()] = "day") -> Response[str]:
    return json_response(200, service.usage(actor(router), period))
