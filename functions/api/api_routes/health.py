"""Liveness: the function runs and the caller is authenticated."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel

from agent_tasks.settings import get_settings
from api_routes.context import caller_id
from api_routes.responses import documented

router = APIGatewayHttpRouter()


class Health(BaseModel):
    status: str
    environment: str
    user_id: str


@router.get(
    "/health",
    summary="Service health",
    tags=["health"],
    responses=documented(200, Health, "The service runs and the token is valid."),
)
def health() -> Health:
    return Health(status="ok", environment=get_settings().environment, user_id=caller_id(router))
