"""Executions: execute and preview a task, list a task's executions, read, cancel and re-run one, and
read the deliveries of its notifications, answer its approval requests."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from agent_tasks.errors import ValidationFailedError
from agent_tasks.models.approvals import ApprovalResponse, DecisionRequest
from agent_tasks.models.common import API_BASE, Page
from agent_tasks.models.executions import (
    ExecuteRequest,
    Execution,
    ExecutionResponse,
    ExecutionStatus,
    PreviewResponse,
)
from agent_tasks.models.notifications import Delivery
from agent_tasks.services import approvals
from agent_tasks.services import execution_queries as queries
from agent_tasks.services import executions as service
from api_routes.context import actor, header
from api_routes.responses import Cursor, PageSize, WalkedPage, documented, json_response

router = APIGatewayHttpRouter()


def _accepted(execution: Execution) -> Response[str]:
    location = f"{API_BASE}/task-executions/{execution.id}"
    return json_response(202, ExecutionResponse.of(execution), {"Location": location})


def _variables(body: ExecuteRequest | None) -> dict[str, Any]:
    """The body's variables; no body (or null) means none. Any other JSON that is not an object is a 422
    (the validation layer lets an optional body that is an array through as "absent")."""
    if body is not None:
        return body.variables
    if router.current_event.json_body is not None:
        raise ValidationFailedError.for_field("body", 'the body must be a JSON object: {"variables": {...}}')
    return {}


@router.post(
    "/tasks/<task_id>/execute",
    summary="Start an execution of your task",
    description="Answers 202 with the pending execution; poll its `self` link. With an `Idempotency-Key` "
    "header, repeating the request answers the first execution instead of starting another.",
    tags=["executions"],
    responses=documented(
        202, ExecutionResponse, "Started; `Location` names the execution.", 400, 404, 409, 422, 429
    ),
)
def execute_task(task_id: str, body: Annotated[ExecuteRequest | None, Body()] = None) -> Response[str]:
    variables = _variables(body)
    execution = service.execute(
        actor(router),
        task_id,
        variables,
        idempotency_key=header(router, "Idempotency-Key"),
        lambda_context=router.lambda_context,
    )
    return _accepted(execution)


@router.post(
    "/tasks/<task_id>/preview",
    summary="Show what an execution would run, without running it",
    tags=["executions"],
    responses=documented(
        200, PreviewResponse, "The rendered prompt, tools and next fire times.", 400, 404, 422
    ),
)
def preview_task(task_id: str, body: Annotated[ExecuteRequest | None, Body()] = None) -> Response[str]:
    variables = _variables(body)
    return json_response(200, queries.preview(actor(router), task_id, variables))


@router.get(
    "/tasks/<task_id>/executions",
    summary="List a task's executions, newest first",
    tags=["executions"],
    responses=documented(200, Page[ExecutionResponse], "A page of executions.", 400, 404, 422),
)
def list_executions(
    task_id: str,
    status: Annotated[ExecutionStatus | None, Query(description="Only executions with this status.")] = None,
    page: WalkedPage = 1,
    page_size: PageSize = 20,
    cursor: Cursor = None,
) -> Response[str]:
    result = queries.list_for_task(
        actor(router), task_id, page=page, page_size=page_size, cursor=cursor, status=status
    )
    return json_response(200, result)


@router.get(
    "/task-executions/<execution_id>",
    summary="Get one of your executions",
    tags=["executions"],
    responses=documented(200, ExecutionResponse, "The execution.", 404),
)
def get_execution(execution_id: str) -> Response[str]:
    return json_response(200, ExecutionResponse.of(queries.own_execution(actor(router), execution_id)))


@router.get(
    "/task-executions/<execution_id>/deliveries",
    summary="The deliveries of one of your executions' notifications",
    description="Each attempt the notifier made to deliver the execution's events (its end, an "
    "approval request) to the task's webhook, Slack or SNS topic, oldest first: the event id (the "
    "same on every attempt), the destination, the attempt number, and the outcome with its reason. "
    "Follow `next_cursor` for the next page.",
    tags=["executions"],
    responses=documented(200, Page[Delivery], "A page of delivery attempts, oldest first.", 400, 404, 422),
)
def list_execution_deliveries(
    execution_id: str,
    page_size: PageSize = 20,
    cursor: Cursor = None,
) -> Response[str]:
    result = queries.deliveries(actor(router), execution_id, page_size=page_size, cursor=cursor)
    return json_response(200, result)


@router.post(
    "/task-executions/<execution_id>/cancel",
    summary="Cancel a pending or running execution",
    tags=["executions"],
    responses=documented(200, ExecutionResponse, "Cancelled; the workflow is stopped.", 404, 409),
)
def cancel_execution(execution_id: str) -> Response[str]:
    return json_response(200, ExecutionResponse.of(service.cancel(actor(router), execution_id)))


@router.post(
    "/task-executions/<execution_id>/rerun",
    summary="Run an execution again with the same variables",
    tags=["executions"],
    responses=documented(202, ExecutionResponse, "The new execution; `Location` names it.", 404, 409, 429),
)
def rerun_execution(execution_id: str) -> Response[str]:
    return _accepted(service.rerun(actor(router), execution_id))


@router.get(
    "/task-executions/<execution_id>/approvals",
    summary="List an execution's approval requests (tool calls that wait for a person)",
    description="Oldest first; a pending one has a `decide` link. A run asks one at a time. Follow "
    "`next_cursor` for the next page.",
    tags=["approvals"],
    responses=documented(
        200, Page[ApprovalResponse], "A page of the execution's approval requests.", 400, 404, 422
    ),
)
def list_approvals(
    execution_id: str,
    page_size: PageSize = 20,
    cursor: Cursor = None,
) -> Response[str]:
    result = approvals.list_approvals(actor(router), execution_id, page_size=page_size, cursor=cursor)
    return json_response(200, result)


@router.post(
    "/task-executions/<execution_id>/approvals/<approval_id>",
    summary="Approve or deny a tool call that waits for you",
    description="Once: a second answer, or one after the request timed out, is a 409. Approve runs the "
    "call and the run goes on; deny gives the model a tool error carrying `reason`.",
    tags=["approvals"],
    responses=documented(200, ApprovalResponse, "Answered; the run resumes.", 400, 404, 409, 422),
)
def decide_approval(execution_id: str, approval_id: str, body: DecisionRequest) -> Response[str]:
    return json_response(200, approvals.decide(actor(router), execution_id, approval_id, body))
