"""Task definitions: create, read, list, update and delete, each audited, each isolated per user."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from agent_tasks.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PreconditionFailedError,
    ValidationFailedError,
)
from agent_tasks.models.common import API_BASE, Page, utc_now
from agent_tasks.models.tasks import Task, TaskCreate, TaskFields, TaskFilters, TaskResponse, TaskUpdate
from agent_tasks.services.actor import Actor
from agent_tasks.services.model_rules import check_model_options
from agent_tasks.services.paging import check_walk, decode_cursor, encode_cursor, page_of
from agent_tasks.store import audit as audit_store
from agent_tasks.store import tasks as task_store
from agent_tasks.templates import validate_template

SCHEDULE_FIELDS = {
    "is_scheduled",
    "schedule_cron",
    "run_at",
    "schedule_timezone",
    "schedule_enabled",
    "is_active",
    "schedule_start_at",
    "schedule_end_at",
}


def _next_run_at(fields: TaskFields | Task, now: datetime) -> datetime | None:
    if not (fields.is_scheduled and fields.schedule_enabled and fields.is_active):
        return None
    if not fields.schedule_cron:
        if fields.run_at is None:
            return None
        from agent_tasks.schedules.one_time import one_time_next_run

        return one_time_next_run(
            fields.run_at, after=now, start_at=fields.schedule_start_at, end_at=fields.schedule_end_at
        )
    from agent_tasks.schedules.windows import next_fire_in_window

    return next_fire_in_window(
        fields.schedule_cron,
        fields.schedule_timezone,
        after=now,
        start_at=fields.schedule_start_at,
        end_at=fields.schedule_end_at,
    )


def _audit(caller: Actor, task: Task, action: str, changed: list[str], now: datetime) -> Any:
    return audit_store.new_event(
        actor_id=caller.user_id,
        owner_id=task.owner_id,
        action=action,
        resource_type="task",
        resource_id=task.id,
        at=now,
        request_id=caller.request_id,
        changed_fields=changed,
    )


def _check_secrets(caller: Actor, fields: TaskFields) -> None:
    """Every secret the task references must be the caller's (a 422 names the missing ones)."""
    from agent_tasks.services import secrets

    secrets.require_existing(caller.user_id, secrets.referenced_secrets(fields))


def _check_run_at_ahead(fields: TaskFields, now: datetime) -> None:
    """A run_at being set must be still to come (a past one would never run, or run at once by surprise)."""
    if fields.run_at is not None and fields.run_at <= now:
        raise ValidationFailedError.for_field(
            "body.run_at",
            f"must be in the future; it is {fields.run_at.isoformat()}, now is {now.isoformat()}",
        )


def create_task(caller: Actor, body: TaskCreate) -> Task:
    check_model_options(body.sdk_options)
    _check_secrets(caller, body)
    now = utc_now()
    _check_run_at_ahead(body, now)
    webhook_secret = None
    if body.notification_config and body.notification_config.webhook_url:
        from agent_tasks.notify.signing import new_webhook_secret

        webhook_secret = new_webhook_secret()
    task = Task(
        **dict(body),
        id=str(uuid.uuid4()),
        owner_id=caller.user_id,
        version=1,
        created_at=now,
        updated_at=now,
        next_run_at=_next_run_at(body, now),
        template_variables=validate_template(body.prompt_template),
        webhook_secret=webhook_secret,
    )
    task_store.create(task, _audit(caller, task, "task.created", sorted(body.model_fields_set), now))
    return task


def read_task(caller: Actor, task_id: str) -> Task:
    """A task the caller may read: their own, or another user's public one. Otherwise 404, never 403."""
    task = task_store.get(task_id)
    if task is None or task.is_deleted or (task.owner_id != caller.user_id and not task.is_public):
        raise NotFoundError("no such task")
    return task


def owned_task(caller: Actor, task_id: str, *, allow_deleted: bool = False) -> Task:
    """The caller's own task; anyone else's (public or not) is a 404. With `allow_deleted`, the owner's
    deleted task too, so execute, re-run and restore can say 409 "deleted" rather than 404."""
    return owned(caller, task_store.get(task_id), allow_deleted=allow_deleted)


def owned(caller: Actor, task: Task | None, *, allow_deleted: bool = False) -> Task:
    """`owned_task`'s judgement of a task already read (None: not stored)."""
    if task is None or task.owner_id != caller.user_id or (task.is_deleted and not allow_deleted):
        raise NotFoundError("no such task")
    return task


def own_task(caller: Actor, task_id: str) -> Task:
    """A task the caller may change: 404 if they cannot see it, 403 if it is visible but not theirs."""
    task = read_task(caller, task_id)
    if task.owner_id != caller.user_id:
        raise ForbiddenError("only the task's owner may change it")
    return task


def _check_version(task: Task, if_match: str | None) -> None:
    if if_match is None or if_match.strip() == "*":
        return
    # Strong comparison (RFC 9110 §13.1.1): a weak tag, W/"2", never matches.
    wanted = {tag.strip() for tag in if_match.split(",")}
    if task.etag not in wanted:
        raise PreconditionFailedError(
            f"the task is at version {task.version}, not {if_match}; read it again and retry",
            details=[
                {
                    "loc": ["header", "If-Match"],
                    "msg": f"current version is {task.version}",
                    "type": "precondition",
                }
            ],
        )


def _revalidate(merged: dict[str, Any]) -> TaskFields:
    try:
        return TaskFields.model_validate(merged)
    except ValidationError as exc:
        details = [
            {"loc": ["body", *[str(p) for p in e["loc"]]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        raise ValidationFailedError("the updated task is not valid", details=details) from exc


def update_task(caller: Actor, task_id: str, body: TaskUpdate, *, if_match: str | None) -> Task:
    old = own_task(caller, task_id)
    _check_version(old, if_match)
    changes = body.changes()
    merged = {**dict(old), **changes}
    if changes.get("run_at") is not None and merged.get("schedule_cron"):
        raise ValidationFailedError.for_field(
            "body.run_at",
            "the task has a schedule_cron; send schedule_cron: null with run_at "
            "to make it a one-time schedule",
        )
    fields = _revalidate({name: merged[name] for name in TaskFields.model_fields})
    if "sdk_options" in changes:
        check_model_options(fields.sdk_options)
    if {"secrets", "sdk_options"} & changes.keys():
        _check_secrets(caller, fields)
    now = utc_now()
    # An unchanged run_at that has passed (it ran) does not block other edits, only turning it on again.
    enabling_one_time = changes.get("schedule_enabled") and fields.run_at and not fields.schedule_cron
    if "run_at" in changes or enabling_one_time:
        _check_run_at_ahead(fields, now)
    next_run_at = old.next_run_at
    if SCHEDULE_FIELDS & changes.keys() or (fields.is_scheduled and next_run_at is None):
        next_run_at = _next_run_at(fields, now)
    elif not fields.is_scheduled:
        next_run_at = None
    webhook_secret = old.webhook_secret
    if fields.notification_config and fields.notification_config.webhook_url and not webhook_secret:
        from agent_tasks.notify.signing import new_webhook_secret

        webhook_secret = new_webhook_secret()
    new = Task(
        **dict(fields),
        id=old.id,
        owner_id=old.owner_id,
        version=old.version + 1,
        created_at=old.created_at,
        updated_at=now,
        next_run_at=next_run_at,
        consecutive_failures=0 if "schedule_enabled" in changes else old.consecutive_failures,
        scheduled_runs=0 if "schedule_enabled" in changes else old.scheduled_runs,
        # A slot the scheduler has claimed is still owed (scheduler.py finishes it against the schedule
        # as edited), unless the schedule is turned off: then it is not, nor when it is turned on again.
        pending_slot=old.pending_slot
        if fields.is_scheduled and fields.schedule_enabled and fields.is_active
        else None,
        schedule_paused_reason=None if changes.get("schedule_enabled") else old.schedule_paused_reason,
        template_variables=validate_template(fields.prompt_template),
        webhook_secret=webhook_secret,
    )
    changed = sorted(name for name in changes if getattr(old, name) != getattr(new, name))
    task_store.replace(old, new, _audit(caller, new, "task.updated", changed, now))
    return new.with_new_webhook_secret() if webhook_secret != old.webhook_secret else new


def rotate_webhook_secret(caller: Actor, task_id: str, *, if_match: str | None) -> Task:
    """A new webhook signing secret for the owner's task, answered once; the old one stops working."""
    from agent_tasks.notify.signing import new_webhook_secret

    old = own_task(caller, task_id)
    _check_version(old, if_match)
    if not (old.notification_config and old.notification_config.webhook_url):
        raise ConflictError("the task has no webhook_url, so it has no webhook secret to rotate")
    now = utc_now()
    new = old.model_copy(
        update={"webhook_secret": new_webhook_secret(), "version": old.version + 1, "updated_at": now}
    )
    task_store.replace(old, new, _audit(caller, new, "task.webhook_secret_rotated", ["webhook_secret"], now))
    return new.with_new_webhook_secret()


def delete_task(caller: Actor, task_id: str, *, if_match: str | None) -> None:
    old = own_task(caller, task_id)
    _check_version(old, if_match)
    now = utc_now()
    deleted = old.model_copy(
        update={
            "is_deleted": True,
            "deleted_at": now,
            "updated_at": now,
            "version": old.version + 1,
            "next_run_at": None,
        }
    )
    task_store.soft_delete(old, deleted, _audit(caller, old, "task.deleted", ["is_deleted"], now))


def restore_task(caller: Actor, task_id: str) -> Task:
    """Undo a soft delete: the owner's deleted task is live again, its schedule recomputed from now."""
    old = owned_task(caller, task_id, allow_deleted=True)
    if not old.is_deleted:
        raise ConflictError("the task is not deleted")
    now = utc_now()
    restored = old.model_copy(
        update={
            "is_deleted": False,
            "deleted_at": None,
            "updated_at": now,
            "version": old.version + 1,
            "pending_slot": None,  # slots missed while deleted are not owed
            "consecutive_failures": 0,
        }
    )
    restored = restored.model_copy(update={"next_run_at": _next_run_at(restored, now)})
    task_store.restore(old, restored, _audit(caller, restored, "task.restored", ["is_deleted"], now))
    return restored


def list_tasks(
    caller: Actor, filters: TaskFilters, *, page: int, page_size: int, cursor: str | None
) -> Page[TaskResponse]:
    """A page of the caller's tasks, paged by the store: the cursor is the position after the last task
    answered (tasks created during a walk are neither repeated nor skipped); `page` without a cursor
    walks past the earlier pages."""
    check_walk(page, cursor)
    query = filters.as_query()
    scope = {**query, "page_size": page_size}
    start_key: dict[str, Any] | None = None
    if cursor:
        position = decode_cursor(
            cursor, scope, key_shape=task_store.cursor_key_shape(caller.user_id, filters)
        )
        page, start_key = position.page, position.key
    result = task_store.list_page(caller.user_id, filters, size=page_size, start_key=start_key)
    for _ in range(page - 1 if not cursor else 0):
        if result.next_key is None:
            result = task_store.TaskPage([], None, result.total)
            break
        result = task_store.list_page(caller.user_id, filters, size=page_size, start_key=result.next_key)
    total = result.total if result.total is not None else task_store.count_matching(caller.user_id, filters)
    next_cursor = (
        encode_cursor({"key": result.next_key, "page": page + 1}, scope)
        if result.next_key is not None
        else None
    )
    return page_of(
        TaskResponse,
        [TaskResponse.of(task) for task in result.tasks],
        path=f"{API_BASE}/tasks",
        query=query,
        page=page,
        page_size=page_size,
        total=total,
        next_cursor=next_cursor,
        cursor=cursor,
        walked=True,
    )
