"""/tasks: create, list, get, update, delete."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from agent_tasks.models.common import API_BASE, Page
from agent_tasks.models.tasks import (
    PublicTaskResponse,
    Task,
    TaskCreate,
    TaskFilters,
    TaskResponse,
    TaskUpdate,
)
from agent_tasks.services import tasks as service
from api_routes.context import actor, header
from api_routes.responses import PageSize, WalkedPage, documented, json_response

router = APIGatewayHttpRouter()


def _answer(status: int, task: Task, *, reveal_secret: bool = False) -> Response[str]:
    headers = {"ETag": task.etag}
    if status == 201:
        headers["Location"] = f"{API_BASE}/tasks/{task.id}"
    return json_response(status, TaskResponse.of(task, reveal_webhook_secret=reveal_secret), headers)


@router.post(
    "/tasks",
    summary="Create a task",
    tags=["tasks"],
    responses=documented(201, TaskResponse, "Created; `Location` and `ETag` headers are set.", 400, 409, 422),
)
def create_task(body: TaskCreate) -> Response[str]:
    task = service.create_task(actor(router), body)
    return _answer(201, task, reveal_secret=True)


@router.get(
    "/tasks",
    summary="List your tasks, newest first",
    tags=["tasks"],
    responses=documented(200, Page[TaskResponse], "A page of tasks.", 400, 422),
)
def list_tasks(
    tags: Annotated[
        str | None, Query(description="Comma-separated; every tag must match.", max_length=2000)
    ] = None,
    is_scheduled: Annotated[bool | None, Query()] = None,
    is_active: Annotated[bool | None, Query()] = None,
    q: Annotated[str | None, Query(description="Name contains (case-insensitive).", max_length=255)] = None,
    page: WalkedPage = 1,
    page_size: PageSize = 20,
    cursor: Annotated[str | None, Query(max_length=1000, description="Opaque; from `next_cursor`.")] = None,
) -> Response[str]:
    filters = TaskFilters(
        tags=tuple(t.strip() for t in (tags or "").split(",") if t.strip()),
        is_scheduled=is_scheduled,
        is_active=is_active,
        q=q or None,
    )
    result = service.list_tasks(actor(router), filters, page=page, page_size=page_size, cursor=cursor)
    return json_response(200, result)


@router.get(
    "/tasks/<task_id>",
    summary="Get a task (yours, or another user's public task)",
    description="Your task in full (`view: owner`); another user's public task in a reduced view "
    "(`view: public`, PublicTaskResponse): no notification_config, MCP server URLs or schedule state.",
    tags=["tasks"],
    responses=documented(200, TaskResponse, "The task; `ETag` is its version.", 404),
)
def get_task(task_id: str) -> Response[str]:
    caller = actor(router)
    task = service.read_task(caller, task_id)
    if task.owner_id != caller.user_id:  # another user's public task: the reduced view
        return json_response(200, PublicTaskResponse.of(task), {"ETag": task.etag})
    return _answer(200, task)


@router.patch(
    "/tasks/<task_id>",
    summary="Update some fields of a task",
    tags=["tasks"],
    responses=documented(
        200,
        TaskResponse,
        "The updated task; `If-Match` is honoured. A PATCH that adds the first `webhook_url` answers the "
        "new `webhook_secret`, once.",
        400,
        403,
        404,
        409,
        412,
        422,
    ),
)
def update_task(task_id: str, body: TaskUpdate) -> Response[str]:
    task = service.update_task(actor(router), task_id, body, if_match=header(router, "If-Match"))
    return _answer(200, task, reveal_secret=task.webhook_secret_is_new)


@router.post(
    "/tasks/<task_id>/webhook-secret/rotate",
    summary="Replace the webhook signing secret of your task",
    description="Answers the task with its new `webhook_secret` (shown only here); the old secret "
    "stops working. Audited as `task.webhook_secret_rotated`.",
    tags=["tasks"],
    responses=documented(200, TaskResponse, "The task with its new secret.", 403, 404, 409, 412),
)
def rotate_webhook_secret(task_id: str) -> Response[str]:
    task = service.rotate_webhook_secret(actor(router), task_id, if_match=header(router, "If-Match"))
    return _answer(200, task, reveal_secret=True)


@router.delete(
    "/tasks/<task_id>",
    summary="Delete a task (soft: its executions are kept)",
    tags=["tasks"],
    responses=documented(204, None, "Deleted.", 403, 404, 412),
)
def delete_task(task_id: str) -> Response[str]:
    service.delete_task(actor(router), task_id, if_match=header(router, "If-Match"))
    return Response(status_code=204, body="")


@router.post(
    "/tasks/<task_id>/restore",
    summary="Restore a deleted task (undo a soft delete)",
    tags=["tasks"],
    responses=documented(200, TaskResponse, "The task, live again.", 404, 409),
)
def restore_task(task_id: str) -> Response[str]:
    return _answer(200, service.restore_task(actor(router), task_id))
