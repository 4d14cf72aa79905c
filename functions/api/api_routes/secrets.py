"""/secrets: the caller's secrets for tools. Values are write-only: no answer ever holds one."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from agent_tasks.models.common import API_BASE
from agent_tasks.models.secrets import SECRET_NAME_PATTERN, SecretList, SecretPut, SecretResponse
from agent_tasks.services import secrets as service
from api_routes.context import actor
from api_routes.responses import documented, json_response

router = APIGatewayHttpRouter()
Name = Annotated[str, Path(pattern=SECRET_NAME_PATTERN, max_length=64, description="The secret's name.")]


@router.put(
    "/secrets/<name>",
    summary="Create or replace a secret (the value is write-only)",
    tags=["secrets"],
    responses={
        **documented(200, SecretResponse, "Replaced; never the value.", 400, 404, 409, 422),
        201: {
            "description": "Created; `Location` is set; never the value.",
            "content": {"application/json": {"model": SecretResponse}},
        },
    },
)
def put_secret(name: Name, body: SecretPut) -> Response[str]:
    record, created = service.put_secret(actor(router), name, body)
    headers = {"Location": f"{API_BASE}/secrets/{record.name}"} if created else {}
    return json_response(201 if created else 200, SecretResponse.of(record), headers)


@router.get(
    "/secrets",
    summary="List your secrets: names, descriptions, times, last use; never values",
    tags=["secrets"],
    responses=documented(200, SecretList, "Every secret of yours, by name.", 400),
)
def list_secrets() -> Response[str]:
    return json_response(200, service.list_secrets(actor(router)))


@router.delete(
    "/secrets/<name>",
    summary="Delete a secret (409 while a task references it, unless force=true)",
    tags=["secrets"],
    responses=documented(204, None, "Deleted.", 404, 409, 422),
)
def delete_secret(
    name: Name,
    force: Annotated[
        bool, Query(description="Delete even though tasks reference it: their runs then fail at Prepare.")
    ] = False,
) -> Response[str]:
    service.delete_secret(actor(router), name, force=force)
    return Response(status_code=204, body="")
