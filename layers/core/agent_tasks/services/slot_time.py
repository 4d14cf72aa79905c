"""Slots started ahead of their time (the schedule lookahead): what is decided at the slot's time.

The tick claims a slot up to SCHEDULE_LOOKAHEAD_SECONDS before it is due and starts its workflow
at once (services/scheduler.py): the execution is written `pending` with `waiting_until` (the
slot plus its jitter), holds no run slot and does not count as running. The workflow waits (a
Wait state on `$.not_before`) and its first step is `begin_slot`, which judges, as the tick would
have judged a slot claimed when due:

- the slot still belongs to the schedule: the task exists, is active, its schedule is on (an
  `ended:` disable is the schedule's own end, written with this slot's claim) and its schedule
  fields (cron, zone, run_at, jitter, start and end) are those the slot was claimed under;
  max_runs is not reached;
- the owner's spend cap;
- the overlap policy, against the runs going now (not the minute before): `skip` (or a full
  `buffer_one`) skips it, `cancel_other` cancels the runs going, `buffer_one` queues it;
- the concurrency limits: it takes its run slots, or is queued (concurrency.admit_waiting).

A slot that no longer runs ends `cancelled` with the reason and a `schedule.slot_skipped` audit
event (as the tick records a skipped slot). A run that begins counts for max_runs. Steps are safe
to retry: each acts only on a waiting execution.

**Queued at its slot** (a concurrency limit, buffer_one), the workflow waits on a task token, not by
looking again and again: its `WaitForTurn` state (`.waitForTaskToken`) calls `await_turn`, which keeps
the token on the execution with a write conditional on it still being queued. Whoever moves it out of
the queue reads the token back with the execution it wrote (the store reads the item again after its
transaction) and answers it: the promoter (concurrency.promote) with `{"next": "run"}` (Prepare), an
end (expired, cancelled: services/ending.py) with `{"next": "stop"}` (Done). If the run left the queue
before the token was kept, the conditional write fails and `await_turn` answers the token itself with
the current decision, so no wake-up is lost. The state's timeout (the queue's time left plus
TURN_TIMEOUT_MARGIN_SECONDS) bounds a wait whose token was lost; `check_turn` then looks once and
proceeds, ends (expiring a run past its queued_until) or waits again.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from agent_tasks import adapters
from agent_tasks.errors import SpendCapReachedError
from agent_tasks.models.audit import AuditEvent
from agent_tasks.models.common import utc_now
from agent_tasks.models.executions import Execution
from agent_tasks.models.tasks import MAX_QUEUED_TTL_SECONDS, PendingSlot, Task
from agent_tasks.observability import logger
from agent_tasks.services import concurrency, spend
from agent_tasks.services.executions import task_snapshot
from agent_tasks.store import audit as audit_store
from agent_tasks.store import executions as execution_store
from agent_tasks.store import schedules as schedule_store
from agent_tasks.store import tasks as task_store

# The fields that define which slots a schedule has: a change of any while a run waits for its slot
# means the slot it waits for is no longer the schedule's.
SCHEDULE_DEFINITION = (
    "schedule_cron",
    "schedule_timezone",
    "run_at",
    "jitter_seconds",
    "schedule_start_at",
    "schedule_end_at",
)
# A run queued at its slot waits on a task token at most its queue's time left plus this margin (two
# of the scheduler's sweeps, which expire it), and never less than TURN_TIMEOUT_MIN_SECONDS.
TURN_TIMEOUT_MARGIN_SECONDS = 120
TURN_TIMEOUT_MIN_SECONDS = 60


def _slot_of(execution: Execution) -> datetime:
    return datetime.fromisoformat(str(execution.trigger_metadata["slot"]))


def slot_gone(task: Task | None, execution: Execution, slot: datetime) -> tuple[str, str] | None:
    """Why the slot the execution waited for no longer runs, as (reason, audit reason); None if it runs."""
    if task is None or task.is_deleted:
        return "the task was deleted while the run waited for its slot", "deleted"
    if not task.is_active:
        return "the task was deactivated while the run waited for its slot", "inactive"
    if not task.is_scheduled or not (
        task.schedule_enabled or (task.schedule_paused_reason or "").startswith("ended:")
    ):
        why = f" ({task.schedule_paused_reason})" if task.schedule_paused_reason else ""
        return f"the schedule was paused or disabled while the run waited for its slot{why}", "paused"
    current = task_snapshot(task)
    changed = [name for name in SCHEDULE_DEFINITION if current.get(name) != execution.task_snapshot.get(name)]
    if changed:
        return (
            f"the schedule was edited while the run waited for its slot ({', '.join(changed)} changed): "
            f"the slot at {slot.isoformat()} is no longer the one it was claimed for",
            "schedule_changed",
        )
    if task.max_runs is not None and task.scheduled_runs >= task.max_runs:
        return f"max_runs ({task.max_runs}) scheduled runs have started", "max_runs"
    return None


def begin_slot(execution_id: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The first step of a workflow started ahead of its slot, at the slot's time (see the module
    docstring). `{"next": "run"}` (go on to Prepare), `"wait_turn"` (queued) or `"stop"`."""
    from agent_tasks.services.workflow.run_inputs import require

    execution = require(execution_id)
    now = now or utc_now()
    if execution.status == "queued":
        return _wait_turn(execution, now)  # a retried begin that queued it
    if execution.status != "pending":
        return {"next": "stop"}  # cancelled while it waited
    if execution.waiting_until is None:
        return {"next": "run"}  # a retried begin that admitted it (or a run that never waited)
    task = task_store.get(execution.task_id)
    slot = _slot_of(execution)
    gone = slot_gone(task, execution, slot)
    if gone is not None:
        return _skip(execution, slot, now, reason=gone[0], audit_reason=gone[1])
    assert task is not None
    try:
        spend.admit(task.owner_id, now=now, task_id=task.id)
    except SpendCapReachedError:
        return _skip(
            execution, slot, now, reason="the owner's spend cap is reached", audit_reason="spend_cap"
        )
    from agent_tasks.services import scheduler

    running = scheduler.still_running(task, execution.id, now)
    decision = scheduler.overlap_for(task, running)
    pending = _pending(execution, slot)
    if decision == "skip":
        reason = "overlap_buffer_full" if task.overlap_policy == "buffer_one" else "overlap"
        return _skip(
            execution,
            slot,
            now,
            reason="an earlier run was still going at the slot's time",
            audit_reason=reason,
        )
    if decision == "cancel_others":
        audit_store.record(scheduler.cancel_others(task, pending, now, [other for other, _ in running]))
    refreshed = (
        {"task_snapshot": task_snapshot(task), "task_version": task.version, "task_name": task.name}
        if task.version != execution.task_version
        else {}
    )
    admitted = concurrency.admit_waiting(task, execution, buffered=decision == "queue", changes=refreshed)
    if admitted is None:
        return {"next": "stop"}  # cancelled as it began
    if task.max_runs is not None:
        counted = schedule_store.count_run(task.id)
        if counted is not None:
            scheduler.end_if_max_runs(counted, now)
    logger.info("scheduled run begins at its slot", extra={"status": admitted.status})
    return {"next": "run"} if admitted.status == "pending" else _wait_turn(admitted, now)


def _wait_turn(execution: Execution, now: datetime) -> dict[str, Any]:
    """Wait for the turn (the WaitForTurn state), at most the queue's time left plus a margin."""
    left = (execution.queued_until - now).total_seconds() if execution.queued_until else 0.0
    left = min(left, MAX_QUEUED_TTL_SECONDS)  # never beyond the longest queue time a task may ask
    timeout = max(TURN_TIMEOUT_MIN_SECONDS, math.ceil(left) + TURN_TIMEOUT_MARGIN_SECONDS)
    return {"next": "wait_turn", "timeout_seconds": timeout}


def await_turn(execution_id: str, task_token: str) -> dict[str, Any]:
    """The WaitForTurn state's call: keep its task token on the still-queued run; if the run left the
    queue meanwhile (admitted or ended), answer the token now with the current decision."""
    if execution_store.record_turn_token(execution_id, task_token):
        return {"waiting": True}
    decision = check_turn(execution_id)
    adapters.workflows().resume(task_token, decision)
    logger.info("turn decided before its wait began", extra={"next": decision["next"]})
    return {"waiting": False, "next": decision["next"]}


def check_turn(execution_id: str, *, now: datetime | None = None) -> dict[str, Any]:
    """A run queued at its slot, looked at once (its wait timed out, or it left the queue before the
    wait began): `run` once promoted (pending), `stop` when it ended, or when its time in the queue is
    over (it ends `expired` here, as the sweep would end it), else `wait_turn` again."""
    now = now or utc_now()
    execution = execution_store.get(execution_id)
    if execution is None:
        return {"next": "stop"}
    if execution.status == "queued":
        if execution.queued_until is not None and execution.queued_until <= now:
            concurrency.expire(execution)
            return {"next": "stop"}
        return _wait_turn(execution, now)
    return {"next": "run"} if execution.status == "pending" else {"next": "stop"}


def hand_back_turn(execution: Execution, *, left_status: str) -> bool:
    """A run left the queue (`left_status` the status it was in when it left): answer the token its
    workflow waits on, if it keeps one: `run` when it was admitted (now pending), `stop` when it ended.
    True when the wait took the answer; a token no longer waiting (timed out, answered) is logged by
    the adapter, never raised."""
    if execution.turn_token is None or left_status not in {"queued", "pending"}:
        return False
    decision = "run" if execution.status == "pending" else "stop"
    return adapters.workflows().resume(execution.turn_token, {"next": decision})


def _pending(execution: Execution, slot: datetime) -> PendingSlot:
    metadata = execution.trigger_metadata
    return PendingSlot(
        slot=slot,
        claimed_at=execution.created_at,
        rule=metadata.get("rule"),
        skipped_missed_slots=int(metadata.get("skipped_missed_slots") or 0),
    )


def _skip(
    execution: Execution, slot: datetime, now: datetime, *, reason: str, audit_reason: str
) -> dict[str, Any]:
    """End the waiting run `cancelled` (`skipped at its slot: <reason>`) and record the skipped slot."""
    from agent_tasks.services.ending import end_execution

    ended = end_execution(
        execution, "cancelled", reason=f"skipped at its slot: {reason}", from_statuses={"pending"}
    )
    if ended is not None:
        audit_store.record(_skip_audit(execution, slot, now, audit_reason))
        logger.info("slot skipped at its time", extra={"reason": audit_reason})
    return {"next": "stop"}


def _skip_audit(execution: Execution, slot: datetime, now: datetime, reason: str) -> AuditEvent:
    return audit_store.new_event(
        actor_id="system:scheduler",
        owner_id=execution.owner_id,
        action="schedule.slot_skipped",
        resource_type="task",
        resource_id=execution.task_id,
        at=now,
        request_id=None,
        details={
            "reason": reason,
            "skipped_slots": 1,
            "slot": slot.isoformat(),
            "rule": execution.trigger_metadata.get("rule"),
            "execution_id": execution.id,
        },
    )


__all__ = [
    "TURN_TIMEOUT_MARGIN_SECONDS",
    "TURN_TIMEOUT_MIN_SECONDS",
    "await_turn",
    "begin_slot",
    "check_turn",
    "hand_back_turn",
    "slot_gone",
]
