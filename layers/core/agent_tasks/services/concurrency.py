"""Concurrency limits: run slots, the queue, promotion and expiry (issue 21; buffer_one of issue 20).

Limits: a task's `max_concurrent_runs` (None: none) and the deployment's per-user
MAX_CONCURRENT_RUNS_PER_USER. A slot is held by an execution in RUNNING_STATUSES.

- **Admission** (`admit`, from create_and_start): one transaction writes the execution `pending`
  with its audit event and adds its id to the user's slot set and, when the task is limited (or
  buffer_one), the task's, each conditional on the set holding fewer than the limit. If a set is
  full, its holders are checked once (a holder that no longer runs is dropped: a slot cannot leak
  forever) and the admission is tried again; still full, the execution is written `queued` with a
  queue entry instead, and is not started.
- **Release**: ending an execution (services/ending.end_execution, the one end path) deletes its id
  from its sets in the same transaction as the status change.
- **Promotion** (`promote`): after an end that freed a slot, the user's queue is read oldest first
  and each candidate that now fits is moved `queued → pending` in one transaction (status condition,
  queue entry deleted, slots taken with their limit conditions) and its start handed on by its
  execution id (a second start of one name starts nothing). The status condition means no two
  promoters take one candidate; the limit conditions mean two ends at once start as many as fit.
- **Expiry and repair** (`sweep`, from the scheduler's every-minute tick): a queued execution past
  its `queued_until` ends `expired`; the owners of queued ones get a promotion pass, which also
  repairs a promotion lost with a crash between an end and its pass.
- **buffer_one**: a scheduled slot while a run of the task is going is written `queued` and
  `buffered` (at most one: services/scheduler.py); a buffered execution needs the task's slot set
  empty (a limit of 1), so it starts when the current run ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from agent_tasks.errors import ConflictError
from agent_tasks.models.audit import AuditEvent
from agent_tasks.models.common import utc_now
from agent_tasks.models.executions import RUNNING_STATUSES, Execution
from agent_tasks.models.tasks import Task
from agent_tasks.observability import logger
from agent_tasks.schedules.due_index import due_shard
from agent_tasks.settings import get_settings
from agent_tasks.store import concurrency as slot_store
from agent_tasks.store import executions as execution_store
from agent_tasks.store import tasks as task_store
from agent_tasks.store.dynamo import TransactionConflict

# A promotion pass reads at most this many queued executions of a user.
PROMOTION_WINDOW = 50
# The sweep reads at most this many queued executions per shard each tick.
SWEEP_WINDOW = 100


def tracks_task_slots(task: Task) -> bool:
    """Whether the task's runs hold a slot in its own set: it has a limit, or buffer_one needs to know."""
    return task.max_concurrent_runs is not None or task.overlap_policy == "buffer_one"


def _slots(task: Task, *, buffered: bool) -> list[tuple[slot_store.SlotSet, int | None]]:
    slots: list[tuple[slot_store.SlotSet, int | None]] = [
        (("user", task.owner_id), get_settings().max_concurrent_runs_per_user)
    ]
    if tracks_task_slots(task) or buffered:
        limits = [n for n in (task.max_concurrent_runs, 1 if buffered else None) if n is not None]
        slots.append((("task", task.id), min(limits) if limits else None))
    return slots


def _full(conflict: TransactionConflict, slots: list[Any], offset: int) -> list[slot_store.SlotSet]:
    """The slot sets whose limit condition failed (their entries start at `offset` in the transaction)."""
    return [
        slot
        for (slot, _), reason in zip(slots, conflict.reasons[offset:], strict=False)
        if reason == "ConditionalCheckFailed"
    ]


def _repair(full: list[slot_store.SlotSet]) -> int:
    return sum(slot_store.drop_holders(slot, RUNNING_STATUSES) for slot in full)


def admit(task: Task, execution: Execution, audit: AuditEvent, *, buffered: bool = False) -> Execution:
    """Write `execution` pending with its slots, or queued when a limit is reached (see the module
    docstring); returns it as written. A `buffered` execution (buffer_one) is always queued."""
    if not buffered:
        slots = _slots(task, buffered=False)
        admitted = execution.model_copy(update={"run_slots": [kind for (kind, _), _ in slots]})
        for attempt in range(2):
            items = [slot_store.take_slot_item(slot, execution.id, limit) for slot, limit in slots]
            try:
                execution_store.create(admitted, audit, also=items)
            except TransactionConflict as conflict:
                full = _full(conflict, slots, offset=2)
                if not full:
                    raise ConflictError("the change conflicted with another one; retry") from conflict
                if attempt == 0 and _repair(full):
                    continue  # a leaked slot was freed: try again
                break
            else:
                return admitted
    return _enqueue(task, execution, audit, buffered=buffered)


def admit_waiting(
    task: Task, execution: Execution, *, buffered: bool = False, changes: dict[str, Any] | None = None
) -> Execution | None:
    """Admit a scheduled run that waited for its slot (services/slot_time.py), as `admit` admits a new
    one, judged now: it takes its run slots and stays pending (its workflow goes on), or a limit is
    reached (or `buffered`) and it moves to `queued`, to be promoted as any queued run. `changes` are
    written with it (a refreshed snapshot). None when it is no longer pending (cancelled meanwhile)."""
    extra = {**(changes or {}), "waiting_until": None}
    if not buffered:
        slots = _slots(task, buffered=False)
        for attempt in range(2):
            items = [slot_store.take_slot_item(slot, execution.id, limit) for slot, limit in slots]
            try:
                return execution_store.update(
                    execution.id,
                    {**extra, "run_slots": [kind for (kind, _), _ in slots]},
                    status_in={"pending"},
                    also=items,
                )
            except TransactionConflict as conflict:
                full = _full(conflict, slots, offset=1)
                if not full:
                    if conflict.reasons[:1] == ["ConditionalCheckFailed"]:
                        return None  # no longer pending
                    raise ConflictError("the change conflicted with another one; retry") from conflict
                if attempt == 0 and _repair(full):
                    continue
                break
    until = utc_now() + timedelta(seconds=task.queued_ttl_seconds)
    entry = _queue_entry(task, execution, until, buffered=buffered)
    metadata = {**execution.trigger_metadata, **({"buffered": True} if buffered else {})}
    try:
        queued = execution_store.update(
            execution.id,
            {
                **extra,
                "status": "queued",
                "queued_until": until.isoformat(),
                "trigger_metadata": metadata,
                "run_slots": [],
            },
            status_in={"pending"},
            also=[entry],
        )
    except TransactionConflict as conflict:
        if conflict.reasons[:1] == ["ConditionalCheckFailed"]:
            return None
        raise
    if queued is None:
        return None
    logger.info("waiting execution queued at its slot", extra={"execution_id": execution.id})
    return _pass_after_queueing(task, queued)


def _queue_entry(task: Task, execution: Execution, until: datetime, *, buffered: bool) -> dict[str, Any]:
    """The owner's queue entry for a queued execution (the promoter reads these in order)."""
    return slot_store.put_entry_item(
        owner_id=task.owner_id,
        execution_id=execution.id,
        task_id=task.id,
        created_at=execution.created_at,
        queued_until=until,
        buffered=buffered,
        shard=due_shard(execution.id, get_settings().due_shards),
        expires_at=execution.expires_at,
    )


def _enqueue(task: Task, execution: Execution, audit: AuditEvent, *, buffered: bool) -> Execution:
    until = execution.created_at + timedelta(seconds=task.queued_ttl_seconds)
    metadata = {**execution.trigger_metadata, **({"buffered": True} if buffered else {})}
    queued = execution.model_copy(
        update={"status": "queued", "queued_until": until, "trigger_metadata": metadata, "run_slots": []}
    )
    entry = _queue_entry(task, execution, until, buffered=buffered)
    execution_store.create(queued, audit, also=[entry])
    logger.info("execution queued", extra={"execution_id": execution.id, "buffered": buffered})
    return _pass_after_queueing(task, queued)


def _pass_after_queueing(task: Task, queued: Execution) -> Execution:
    """One promotion pass right after writing `queued` (an end may have freed a slot between the full
    admission and the write); the execution as it is after it.

    The pass is given `task` rather than reading it again: it is the copy the admission just judged
    the limits by, so the pass judges them as the admission did. A change to the task meanwhile (a
    limit raised, the task deactivated) is seen by the next end's pass or the sweep's, which read it."""
    try:
        passed = promote(task.owner_id, repair=False, known=task)
    except Exception:  # noqa: BLE001 - the sweep's pass promotes it later
        logger.exception("promoting after queueing failed", extra={"owner_id": task.owner_id})
        return queued
    if queued.id in passed.promoted:
        return execution_store.get(queued.id) or queued
    return queued


def release_items(execution: Execution) -> list[dict[str, Any]]:
    """The transaction entries that end the execution's hold: its slots freed, its queue entry removed."""
    items = [
        slot_store.release_slot_item(slot, execution.id)
        for slot in slot_store.slot_sets(execution.owner_id, execution.task_id, execution.run_slots)
    ]
    if execution.status == "queued":
        items.append(slot_store.delete_entry_item(execution.owner_id, execution.created_at, execution.id))
    return items


@dataclass
class PromotionPass:
    promoted: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)


def promote(
    owner_id: str, *, now: datetime | None = None, repair: bool = True, known: Task | None = None
) -> PromotionPass:
    """Start the user's oldest queued executions that now fit (see the module docstring). `known`: a
    task the caller has just read, not read again (the other tasks of the queue are)."""
    now = now or utc_now()
    done = PromotionPass()
    tasks: dict[str, Task | None] = {known.id: known} if known is not None else {}
    full_tasks: set[str] = set()
    repaired = not repair
    for entry in slot_store.queued_for_user(owner_id, limit=PROMOTION_WINDOW):
        if entry.task_id in full_tasks:
            continue
        if entry.queued_until <= now:
            execution = execution_store.get(entry.execution_id)
            if execution is not None and expire(execution) is not None:
                done.expired.append(execution.id)
            continue
        if entry.task_id not in tasks:
            tasks[entry.task_id] = task_store.get(entry.task_id)
        task = tasks[entry.task_id]
        if task is None or task.is_deleted or not task.is_active:
            _cancel_orphan(entry.execution_id)
            continue
        # No read of the execution first: the move is conditional on it still being queued (`gone` if not).
        outcome = _take(task, entry, now)
        if outcome == "full" and not repaired:
            repaired = True
            if _repair([slot for slot, _ in _slots(task, buffered=entry.buffered)]):
                outcome = _take(task, entry, now)
        if outcome == "promoted":
            done.promoted.append(entry.execution_id)
        elif outcome == "user_full":
            break  # nothing more of this user fits
        elif outcome == "full":
            full_tasks.add(task.id)
    return done


def _cancel_orphan(execution_id: str) -> None:
    """End a queued execution whose task was deleted or deactivated meanwhile."""
    from agent_tasks.services.ending import end_execution

    execution = execution_store.get(execution_id)
    if execution is not None:
        end_execution(
            execution,
            "cancelled",
            reason="the task was deleted or deactivated while the execution was queued",
            from_statuses={"queued"},
        )


def _take(task: Task, entry: slot_store.QueueEntry, now: datetime) -> str:
    """Move one queued execution to pending with its slots; `promoted`, `user_full`, `full` (the task's
    set) or `gone` (no longer queued, or no longer there)."""
    slots = _slots(task, buffered=entry.buffered)
    items = [slot_store.take_slot_item(slot, entry.execution_id, limit) for slot, limit in slots]
    items.append(slot_store.delete_entry_item(entry.owner_id, entry.created_at, entry.execution_id))
    try:
        promoted = execution_store.update(
            entry.execution_id,
            {
                "status": "pending",
                "dequeued_at": now.isoformat(),
                "queued_until": None,
                "run_slots": [kind for (kind, _), _ in slots],
            },
            status_in={"queued"},
            also=items,
        )
    except TransactionConflict as conflict:
        full = _full(conflict, slots, offset=1)
        if ("user", task.owner_id) in full:
            return "user_full"
        return "full" if full else "gone"
    if promoted is None:
        return "gone"
    logger.info("queued execution promoted", extra={"execution_id": entry.execution_id})
    _hand_on(promoted)
    return "promoted"


def _hand_on(execution: Execution) -> None:
    """Start the promoted execution's workflow: through the start queue when there is one (the function
    ending a run may not start workflows), else here. A start lost here leaves it pending: the
    stale-pending sweeper ends it `failed`, which frees its slot. A run queued at its slot has a
    workflow already, waiting on the token read back with it: that token is answered instead."""
    if execution.turn_token is not None:
        from agent_tasks.services.slot_time import hand_back_turn

        hand_back_turn(execution, left_status="queued")
        return
    queue_url = get_settings().start_queue_url
    if queue_url:
        from agent_tasks import start_queue
        from agent_tasks.services.slot_starts import ExecutionStart

        start_queue.send(queue_url, [ExecutionStart(execution_id=execution.id).model_dump_json()])
        return
    from agent_tasks.services.executions import ensure_started

    ensure_started(execution)


def expire(execution: Execution) -> Execution | None:
    """End a queued execution `expired` (None when it is no longer queued)."""
    from agent_tasks.services.ending import end_execution

    ttl = int((execution.queued_until or execution.created_at).timestamp() - execution.created_at.timestamp())
    return end_execution(
        execution,
        "expired",
        reason=f"not started within queued_ttl_seconds ({ttl} s): a concurrency limit was reached",
        from_statuses={"queued"},
    )


@dataclass
class SweepSummary:
    expired: int = 0
    promoted: int = 0


def sweep(now: datetime) -> SweepSummary:
    """End queued executions past their time `expired`; give every owner seen a promotion pass."""
    summary = SweepSummary()
    owners: set[str] = set()
    for shard in range(get_settings().due_shards):
        for entry in slot_store.queued_in_shard(shard, limit=SWEEP_WINDOW):
            if entry.queued_until > now:
                owners.add(entry.owner_id)
                continue
            execution = execution_store.get(entry.execution_id)
            if execution is not None and expire(execution) is not None:
                summary.expired += 1
    for owner in sorted(owners):
        result = promote(owner, now=now)
        summary.promoted += len(result.promoted)
        summary.expired += len(result.expired)
    return summary
