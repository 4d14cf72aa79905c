"""Reading executions from the API's side: one, a task's list (paged by the store), and preview."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from agent_tasks.errors import NotFoundError
from agent_tasks.models.common import API_BASE, Page, utc_now
from agent_tasks.models.executions import Execution, ExecutionResponse, ExecutionStatus, PreviewResponse
from agent_tasks.models.notifications import Delivery
from agent_tasks.models.tasks import Task, TaskFields
from agent_tasks.services.actor import Actor
from agent_tasks.services.paging import (
    LIST_TOTAL_AT_MOST,
    CursorPosition,
    check_walk,
    decode_cursor,
    encode_cursor,
    page_of,
)
from agent_tasks.services.tasks import owned_task
from agent_tasks.store import executions as execution_store


def own_execution(actor: Actor, execution_id: str) -> Execution:
    execution = execution_store.get(execution_id)
    if execution is None or execution.owner_id != actor.user_id:
        raise NotFoundError("no such execution")
    return execution


def deliveries(actor: Actor, execution_id: str, *, page_size: int, cursor: str | None) -> Page[Delivery]:
    """A page of the notifier's delivery attempts of the owner's execution (another user's: 404),
    oldest first; the cursor carries DynamoDB's key, bound to this execution."""
    from agent_tasks.store import deliveries as delivery_store

    if execution_store.owner_of(execution_id) != actor.user_id:  # the owner only: no spilled field read
        raise NotFoundError("no such execution")
    scope = {"execution_id": execution_id, "page_size": page_size}
    shape = delivery_store.cursor_key_shape(execution_id)
    position = decode_cursor(cursor, scope, key_shape=shape) if cursor else CursorPosition()
    items, last_key = delivery_store.list_page(execution_id, limit=page_size, start_key=position.key)
    next_cursor = encode_cursor({"page": position.page + 1, "key": last_key}, scope) if last_key else None
    return page_of(
        Delivery,
        items,
        path=f"{API_BASE}/task-executions/{execution_id}/deliveries",
        query={},
        page=position.page,
        page_size=page_size,
        total=delivery_store.count_for_execution(execution_id),
        next_cursor=next_cursor,
    )


def list_for_task(
    actor: Actor,
    task_id: str,
    *,
    page: int,
    page_size: int,
    cursor: str | None,
    status: ExecutionStatus | None,
) -> Page[ExecutionResponse]:
    """A task's executions, newest first. Deleted tasks keep their executions, so they list too."""
    check_walk(page, cursor)
    owned_task(actor, task_id, allow_deleted=True)
    filters = {"task_id": task_id, "status": status, "page_size": page_size}
    if cursor:
        position = decode_cursor(cursor, filters, key_shape=execution_store.cursor_key_shape(task_id))
        page = position.page
        start_key: dict[str, Any] | None = position.key
        items, more, last_key = _collect(task_id, status, start_key, page_size, _ReadBudget())
    else:
        start_key, more, budget = None, True, _ReadBudget()
        if page > 1:  # no cursor: walk past the earlier pages
            _, more, start_key = _collect(task_id, status, None, (page - 1) * page_size, budget)
        items, more, last_key = (
            _collect(task_id, status, start_key, page_size, budget) if more else ([], False, None)
        )
    next_cursor = encode_cursor({"key": last_key, "page": page + 1}, filters) if more and last_key else None
    path = f"{API_BASE}/tasks/{task_id}/executions"
    return page_of(
        ExecutionResponse,
        [ExecutionResponse.of(e) for e in items],
        path=path,
        query={"status": status},
        page=page,
        page_size=page_size,
        total=execution_store.count_for_task(task_id, status=status, at_most=LIST_TOTAL_AT_MOST),
        next_cursor=next_cursor,
        cursor=cursor,
        walked=True,
    )


# A status filter that matches few runs would cost a query per page_size runs read, over the whole
# history: a filtered read that comes back short reads twice as many runs the next time, up to
# FILTERED_READ_STEP a query, and one request at most FILTERED_READ_BUDGET (then the page is answered
# short, its cursor where the reading stopped). A filter that matches most runs reads what it answers.
FILTERED_READ_STEP = 250
FILTERED_READ_BUDGET = 2_000


@dataclass
class _ReadBudget:
    """The runs a filtered request may still read (unfiltered reads take only what they answer)."""

    left: int = field(default_factory=lambda: FILTERED_READ_BUDGET)


def _collect(
    task_id: str, status: str | None, start_key: dict[str, Any] | None, wanted: int, budget: _ReadBudget
) -> tuple[list[Execution], bool, dict[str, Any] | None]:
    """Up to `wanted` executions after `start_key` (fewer when a filtered read spends `budget`); whether
    more may follow; the key to go on from."""
    items: list[Execution] = []
    key = start_key
    filtered = status is not None
    limit = 0
    while len(items) < wanted:
        need = wanted - len(items)
        if filtered and budget.left <= 0:
            return items, True, key  # everything up to `key` was read, and its matches are in `items`
        # Unfiltered, or a filtered first read: the page's need; then twice the last read, capped.
        limit = need if not filtered else min(max(need, min(2 * limit, FILTERED_READ_STEP)), budget.left)
        page, key = execution_store.list_for_task(task_id, limit=limit, start_key=key, status=status)
        if filtered:
            budget.left -= limit
        if len(page) > need:  # a filtered read found more than the page takes: go on after the last taken
            items.extend(page[:need])
            return items, True, execution_store.key_after(items[-1])
        items.extend(page)
        if key is None:
            return items, False, None
    last = execution_store.key_after(items[-1]) if items else key
    return items, True, last


def effective_tools(task: TaskFields | Task) -> list[str]:
    """The tool names the agent would be offered: permission mode and disallowed tools applied."""
    from agent_tasks.agent.permissions import resolve_policy

    policy = resolve_policy(
        allowed_tools=task.allowed_tools,
        disallowed_tools=task.disallowed_tools,
        permission_mode=task.sdk_options.permission_mode,
        mcp_servers=task.sdk_options.mcp_servers,
    )
    names = sorted(policy.local | policy.server)
    for grant in policy.mcp:
        if grant.all_tools:
            names.append(f"mcp__{grant.server}")
        else:
            names.extend(f"mcp__{grant.server}__{tool}" for tool in sorted(grant.tools - grant.denied))
    return names


def _next_fire_times(task: Task) -> list[datetime] | None:
    if not (task.is_scheduled and (task.schedule_cron or task.is_one_time)):
        return None
    from agent_tasks.schedules import next_fire_times
    from agent_tasks.schedules.jitter import due_at
    from agent_tasks.schedules.zones import zone_for

    # Shown in the task's own time zone (with its offset), so 02:30 reads as 02:30 in New York.
    zone = zone_for(task.schedule_timezone)
    after = utc_now()
    if task.schedule_cron is None:  # one-time: its one slot, while it is still to come
        from agent_tasks.schedules.one_time import one_time_next_run

        assert task.run_at is not None
        slot = one_time_next_run(
            task.run_at, after=after, start_at=task.schedule_start_at, end_at=task.schedule_end_at
        )
        return [] if slot is None else [due_at(task.id, slot, task.jitter_seconds).astimezone(zone)]
    if task.schedule_start_at is not None and task.schedule_start_at - timedelta(seconds=1) > after:
        after = task.schedule_start_at - timedelta(seconds=1)  # the schedule's window applied
    times = next_fire_times(task.schedule_cron, task.schedule_timezone, after, 5)
    end = task.schedule_end_at
    return [
        due_at(task.id, moment, task.jitter_seconds).astimezone(zone)
        for moment in times
        if end is None or moment <= end
    ]


def preview(actor: Actor, task_id: str, variables: dict[str, Any]) -> PreviewResponse:
    """What an execution would run, without running anything."""
    from agent_tasks.services.secrets import referenced_secrets
    from agent_tasks.store import secrets as secret_store
    from agent_tasks.templates import render

    task = owned_task(actor, task_id)
    rendered = render(task.prompt_template, variables)
    base = f"{API_BASE}/tasks/{task.id}"
    needed = referenced_secrets(task)
    have = secret_store.names_of(task.owner_id) if needed else set()
    return PreviewResponse(
        task_id=task.id,
        task_version=task.version,
        rendered_prompt=rendered.text,
        variables_used=rendered.variables_used,
        variables_missing=rendered.variables_missing,
        effective_tools=effective_tools(task),
        permission_mode=task.sdk_options.permission_mode,
        model=task.sdk_options.model,
        next_fire_times=_next_fire_times(task),
        secrets=needed,
        secrets_missing=[name for name in needed if name not in have],
        approval=task.approval,
        links={"self": f"{base}/preview", "task": base, "execute": f"{base}/execute"},
    )
