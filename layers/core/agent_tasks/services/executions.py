"""Commands on executions from the API's and the scheduler's side: start (with an Idempotency-Key),
cancel, re-run. Reading, listing and preview are in services/execution_queries.py.

Never imports the model SDK: the agent runs in the executor (services/workflow/).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from agent_tasks import retention
from agent_tasks.errors import ConflictError, NotFoundError, ValidationFailedError
from agent_tasks.models.common import utc_now
from agent_tasks.models.executions import (
    Execution,
    TriggerType,
)
from agent_tasks.models.tasks import Task, TaskFields
from agent_tasks.observability import bind_execution, logger, record_execution_started
from agent_tasks.services import concurrency, spend
from agent_tasks.services.actor import Actor
from agent_tasks.services.execution_queries import own_execution
from agent_tasks.services.tasks import owned, owned_task
from agent_tasks.settings import get_settings
from agent_tasks.store import audit as audit_store
from agent_tasks.store import executions as execution_store
from agent_tasks.store import start_reads

# What Step Functions answers when a start is over its token bucket (schedules/quotas.py).
THROTTLING_CODES = frozenset({"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"})


class StartThrottled(Exception):
    """StartExecution was throttled; the execution stays pending and its start is to be tried again."""


def task_snapshot(task: Task) -> dict[str, Any]:
    """The definition an execution runs, secrets left out (MCP tokens, webhook secret)."""
    snapshot = task.model_dump(mode="json", include=set(TaskFields.model_fields))
    for server in snapshot.get("sdk_options", {}).get("mcp_servers", []):
        server["authorization_token"] = None
    return snapshot


def _check_runnable(task: Task) -> None:
    if task.is_deleted:
        raise ConflictError("the task is deleted; a deleted task cannot be executed")
    if not task.is_active:
        raise ConflictError("the task is not active; set is_active to true to execute it")


def create_and_start(
    task: Task,
    variables: dict[str, Any],
    *,
    trigger_type: TriggerType,
    trigger_metadata: dict[str, Any] | None = None,
    actor: Actor,
    now: datetime | None = None,
    execution_id: str | None = None,
    defer_throttled: bool = False,
    start: bool = True,
    buffered: bool = False,
    waiting_until: datetime | None = None,
    limits_read: spend.LimitsRead | None = None,
) -> Execution:
    """Write the pending execution with its audit event and run slots (one transaction), then start its
    workflow; over a concurrency limit (or `buffered`: a buffer_one slot) it is written `queued` instead
    and started later, when a slot frees (services/concurrency.py).

    The scheduler uses this too, with a deterministic `execution_id` per schedule slot: the write is
    conditional on the id being new, so a second attempt raises ConflictError and starts nothing.
    If StartExecution fails, the execution is marked failed with the reason, so it never stays pending;
    with `defer_throttled` a throttled start raises StartThrottled instead (the caller starts it later).
    With `start=False` the execution is only written, pending, for the caller to start (ensure_started).
    With `waiting_until` (a scheduled slot started ahead: services/slot_time.py) it is written pending
    without run slots and its workflow waits until then; admission and the overlap policy are judged
    when it begins, at that time. `limits_read`: the owner's spend limits, when the caller read them
    already (else they are read here).
    """
    _check_runnable(task)
    now = now or utc_now()
    # Refuses at a spend cap.
    default_days = spend.admit(task.owner_id, now=now, task_id=task.id, already_read=limits_read)
    days = task.retention_days or default_days
    execution = Execution(
        id=execution_id or str(uuid.uuid4()),
        task_id=task.id,
        owner_id=task.owner_id,
        task_name=task.name,
        task_version=task.version,
        task_snapshot=task_snapshot(task),
        trigger_type=trigger_type,
        trigger_metadata=trigger_metadata or {},
        prompt_variables=variables,
        status="pending",
        created_at=now,
        created_by=actor.user_id,
        expires_at=retention.expires_at(now, days),
        waiting_until=waiting_until,
    )
    audit = audit_store.new_event(
        actor_id=actor.user_id,
        owner_id=task.owner_id,
        action="execution.started",
        resource_type="execution",
        resource_id=execution.id,
        at=now,
        request_id=actor.request_id,
        details={"task_id": task.id, "trigger_type": trigger_type},
    )
    if waiting_until is None:
        execution = concurrency.admit(task, execution, audit, buffered=buffered)
    else:  # no run slot while it waits: admitted when it begins (slot_time.begin_slot)
        execution_store.create(execution, audit)
    bind_execution(execution)
    record_execution_started(execution)
    if not start or execution.status != "pending":
        return execution
    return _start_workflow(execution, defer_throttled=defer_throttled)


def ensure_started(execution: Execution, *, defer_throttled: bool = False) -> Execution:
    """Start the workflow of a stored execution that is still pending (StartExecution by its id is
    idempotent); used when a scheduler tick finishes a slot an earlier, crashed tick had written."""
    if execution.status != "pending":
        return execution
    return _start_workflow(execution, defer_throttled=defer_throttled)


# A pending execution older than this has no workflow (its start failed or was never made): ended.
STALE_PENDING_AFTER = timedelta(minutes=5)
# Codes of a StartExecution refusal worth one more try (by name, so it can never start twice).
_RETRYABLE_START_CODES = frozenset({"ThrottlingException", "ServiceUnavailable", "InternalServerError"})


def _start_workflow(execution: Execution, *, defer_throttled: bool = False) -> Execution:
    """Start the execution's workflow, named by its id: a second start of the same name is refused by
    Step Functions, so a start that timed out is simply tried again. A start that still fails ends
    the execution `failed`: none is left `pending` without a workflow. With `defer_throttled` (the
    scheduler's starters), a throttled start raises StartThrottled instead, and the execution stays
    pending for the start queue to try again after a backoff."""
    from agent_tasks import adapters

    failure = "error"
    for _attempt in range(2):
        try:
            # A start of a name already started is no error. A run still waiting for its slot waits in
            # its workflow (the Wait state) until then.
            adapters.workflows().start(execution.id, not_before=execution.waiting_until)
        except adapters.WorkflowStartError as error:
            if defer_throttled and error.code in THROTTLING_CODES:
                raise StartThrottled(f"StartExecution throttled ({error.code})") from error
            failure = error.code
            if error.answered and error.code not in _RETRYABLE_START_CODES:
                break  # no answer (timeout, connection) or a retryable refusal: one more try
        else:
            return execution
    logger.warning("StartExecution failed", extra={"execution_id": execution.id, "code": failure})
    return _fail_pending(execution.id, f"the workflow could not be started ({failure})") or execution


def _fail_pending(execution_id: str, reason: str, *, wake_waiting_turn: bool = False) -> Execution | None:
    """End an execution that is still pending as `failed` (None if it has moved on meanwhile). With
    `wake_waiting_turn`, a run promoted out of its slot's queue whose workflow still waits on its turn
    token (the promoter's answer was lost) is answered `run` again instead, and goes on."""
    execution = execution_store.get(execution_id)
    if execution is None:
        return None
    if wake_waiting_turn and _woken_again(execution):
        return None
    from agent_tasks.services.ending import end_execution  # announcing needs notifications: lazily

    return end_execution(execution, "failed", reason=reason, from_statuses={"pending"})


def _woken_again(execution: Execution) -> bool:
    """Answer `run` once more to the WaitForTurn state of a run promoted out of its slot's queue (still
    pending, its turn token kept): True when the wait was still there (it goes on to Prepare now);
    False when it is over (answered, timed out), or the run keeps no token."""
    if execution.status != "pending":
        return False
    from agent_tasks.services.slot_time import hand_back_turn

    if not hand_back_turn(execution, left_status="queued"):
        return False
    logger.warning("stale pending execution's turn answered again", extra={"execution_id": execution.id})
    return True


def settle_stale_pending(now: datetime) -> int:
    """The sweeper: end every execution pending since before `now - STALE_PENDING_AFTER` (its workflow
    never started, e.g. the API function died between writing it and StartExecution), except one whose
    workflow still waits on its turn, which is woken again. Returns how many ended."""
    settled = 0
    reason = f"the workflow did not start within {int(STALE_PENDING_AFTER.total_seconds() // 60)} minutes"
    for shard in range(get_settings().due_shards):
        for execution_id in execution_store.pending_created_before(shard, now - STALE_PENDING_AFTER):
            if _fail_pending(execution_id, reason, wake_waiting_turn=True) is not None:
                logger.warning("stale pending execution ended", extra={"execution_id": execution_id})
                settled += 1
    return settled


def execute(
    actor: Actor,
    task_id: str,
    variables: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    lambda_context: Any = None,
) -> Execution:
    """POST /tasks/{id}/execute: a new manual execution, or the first one for a repeated Idempotency-Key.
    The task and the caller's spend limits are read together (one BatchGetItem)."""
    if idempotency_key and len(idempotency_key) > 255:
        raise ValidationFailedError.for_field("header.Idempotency-Key", "Idempotency-Key is longer than 255")
    stored, limits = start_reads.task_and_limits(task_id, actor.user_id)
    task = owned(actor, stored, allow_deleted=True)
    _check_runnable(task)
    limits_read = spend.LimitsRead(limits)
    if not idempotency_key:
        return create_and_start(task, variables, trigger_type="manual", actor=actor, limits_read=limits_read)
    execution_id, started = _idempotent_start(
        actor, task, variables, idempotency_key, lambda_context, limits_read
    )
    if started is not None:  # this request started it: no need to read it back
        return started
    execution = execution_store.get(execution_id)  # a repeated key: the first request's execution
    if execution is None:  # pragma: no cover - the record points at an execution that was written
        raise NotFoundError("no such execution")
    return execution


def _idempotent_start(
    actor: Actor,
    task: Task,
    variables: dict[str, Any],
    key: str,
    lambda_context: Any,
    limits_read: spend.LimitsRead,
) -> tuple[str, Execution | None]:
    """Powertools idempotency, its records kept by the store (store/idempotency.py): the execution's id,
    and the execution itself when this call started it (None when the key's first request did)."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    settings = get_settings()
    from agent_tasks.store.idempotency import persistence_layer

    persistence = persistence_layer(actor.user_id)
    config = IdempotencyConfig(
        event_key_jmespath="[task_id, key]",
        payload_validation_jmespath="variables",
        expires_after_seconds=settings.idempotency_ttl_seconds,
        raise_on_no_idempotency_key=True,
    )
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        config.register_lambda_context(lambda_context)

    started: list[Execution] = []  # filled when the function really runs (not on a repeated key)

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)
    def start(request: dict[str, Any]) -> dict[str, str]:
        execution = create_and_start(
            task, request["variables"], trigger_type="manual", actor=actor, limits_read=limits_read
        )
        started.append(execution)
        return {"execution_id": execution.id}

    try:
        result = start(request={"task_id": task.id, "key": key, "variables": variables})
    except IdempotencyAlreadyInProgressError as exc:
        raise ConflictError("a request with this Idempotency-Key is still being processed; retry") from exc
    except IdempotencyValidationError as exc:
        raise ValidationFailedError.for_field(
            "header.Idempotency-Key", "this Idempotency-Key was used with different variables"
        ) from exc
    return str(result["execution_id"]), (started[0] if started else None)


def cancel(actor: Actor, execution_id: str) -> Execution:
    """Stop the workflow and mark the execution cancelled; a finished execution is a 409."""
    execution = own_execution(actor, execution_id)
    if execution.is_finished:
        raise ConflictError(
            f"the execution already ended ({execution.status}); "
            "only queued, pending or running ones can be cancelled"
        )
    from agent_tasks.services.ending import end_execution  # announcing needs notifications: lazily

    cancelled = end_execution(execution, "cancelled", reason="cancelled by the user")
    if cancelled is None:
        current = execution_store.get(execution_id)
        ended = current.status if current else "unknown"
        raise ConflictError(f"the execution already ended ({ended}); it cannot be cancelled")
    if cancelled.dequeued_at is not None or execution.status != "queued":
        # a queued execution that never left the queue has no workflow
        _stop_workflow(execution_id, cause="The execution was cancelled by its owner.")
    return cancelled


def cancel_superseded(execution_id: str, *, reason: str) -> Execution | None:
    """Cancel a run that a newer one replaces (overlap_policy `cancel_other`), as a user's cancel ends
    it: status cancelled with `reason`, workflow stopped. None when it had already ended."""
    from agent_tasks.services.ending import end_execution  # announcing needs notifications: lazily

    execution = execution_store.get(execution_id)
    if execution is None or execution.is_finished:
        return None
    cancelled = end_execution(execution, "cancelled", reason=reason)
    if cancelled is not None and (cancelled.dequeued_at is not None or execution.status != "queued"):
        _stop_workflow(execution_id, cause=reason)  # a run that never left the queue has no workflow
    return cancelled


def _stop_workflow(execution_id: str, *, cause: str) -> None:
    from agent_tasks import adapters

    adapters.workflows().stop(execution_id, error="Cancelled", cause=cause)


def rerun(actor: Actor, execution_id: str) -> Execution:
    """A new execution of the same task with the same variables; trigger_metadata.rerun_of says which."""
    original = own_execution(actor, execution_id)
    task = owned_task(actor, original.task_id, allow_deleted=True)
    return create_and_start(
        task,
        original.prompt_variables,
        trigger_type="rerun",
        trigger_metadata={"rerun_of": original.id},
        actor=actor,
    )
