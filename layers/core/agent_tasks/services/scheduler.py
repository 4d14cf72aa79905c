"""The scheduler's tick: start the executions of scheduled tasks that are due, each slot at most once.

One EventBridge rule fires the scheduler every minute; `tick(now, rule=...)` reads only the due
slice of the sparse due index (GSI2, one query per shard) and handles each due task:

1. **Claim** (store/schedules.py `advance_schedule`): one conditional UpdateItem moves
   `next_run_at` from the value just read to the next fire time and records the slot being run
   as the task's `pending_slot` (slot, claim time, rule, missed-slot count). The task stays in
   the due index at that slot's time. Only one of any number of concurrent ticks gets past the
   condition; the others leave the task alone.
2. **Run the slot**: under `overlap_policy: skip`, a slot is skipped while an earlier execution
   of the task is pending or running. Otherwise the execution is written with the slot's
   deterministic id (`slot_execution_id(task_id, slot)`, a conditional put) and its workflow is
   started with that id as its name. A second write of the same slot fails its condition and
   starts nothing new; StartExecution by the same name is idempotent too.
3. **Finish** (`finish_slot`): one conditional write clears `pending_slot`, moves the due key to
   `next_run_at` and stores the slot's audit events (missed slots, an overlap skip).

Crash safety, the choice made here: a tick that dies after the claim leaves `pending_slot` on a
task that is still in the due slice. A later tick that finds a claim older than CLAIM_LEASE
(longer than the scheduler function may run, so its owner is surely gone) finishes that slot
first: if its execution was written it is only started (if still pending), otherwise the slot
is decided and written afresh, under the same id. So a crash between any two steps loses no
slot, and the deterministic id means no slot ever gets two executions. A claim younger than the
lease belongs to a tick still at work and is left to it. An edit of the task by its owner keeps
the claim (the slot is still owed) unless it turns the schedule off; when the edit changed the
schedule, the claim is finished against the schedule as the owner left it (`_finish`).

After an outage only the latest missed slot runs (plan_tick); the skipped ones are counted in
the execution's `trigger_metadata.skipped_missed_slots`, in an audit event and in the summary.
Fan-out (services/slot_starts.py): the tick itself only finds and claims due slots, then hands
each claimed slot to a `SlotDispatcher`. In AWS that is the start queue (SQS): starter functions
run the slots in parallel, within Step Functions' start quota, and a slot whose worker dies stays
claimed, so its message comes back (or a later tick re-sends it after CLAIM_LEASE) and is
finished under the same id. The due entries are claimed in an order that interleaves owners
(schedules/fairness.py). Without a queue (tests, the handler without START_QUEUE_URL) the claimed
slots run inline, one after another, exactly as the workers would run them.
Lookahead (SCHEDULE_LOOKAHEAD_SECONDS, default 60): the tick also claims slots due up to that far
ahead, in the same order and with the same claim. A slot claimed ahead is written `pending` with
`waiting_until` (its slot plus jitter), holding no run slot, and its workflow is started at once,
paced like any other, with a Wait state until that time; the claim is then finished. What must be
judged at the slot's time (pause, delete or edit of the schedule, spend cap, the overlap policy,
concurrency limits, max_runs) is judged then, by the workflow's first step
(services/slot_time.py), which ends the run `cancelled` with the reason when the slot no longer
runs. So the StartExecution calls of a round minute's slots spread over the minute before it.
Nothing here reads the wall clock: `now` comes from the caller.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Protocol

from agent_tasks.errors import ConflictError, SpendCapReachedError
from agent_tasks.models.audit import AuditEvent
from agent_tasks.models.tasks import PendingSlot, Task
from agent_tasks.observability import execution_log_keys, logger
from agent_tasks.parallel import map_in_context
from agent_tasks.schedules import overlap_decision, plan_tick, should_pause, slot_execution_id
from agent_tasks.schedules.fairness import interleave_owners
from agent_tasks.schedules.fire_times import next_fire_time
from agent_tasks.schedules.jitter import jitter_offset
from agent_tasks.schedules.policy import OverlapDecision
from agent_tasks.schedules.windows import too_late_to_catch_up, window_ended
from agent_tasks.services import concurrency
from agent_tasks.services import executions as execution_service
from agent_tasks.services.actor import Actor
from agent_tasks.services.schedule_pause import SCHEDULER_ACTOR, pause_schedule
from agent_tasks.settings import get_settings
from agent_tasks.store import audit as audit_store
from agent_tasks.store import executions as execution_store
from agent_tasks.store import schedules as schedule_store
from agent_tasks.store import tasks as task_store

# Longer than the scheduler function's timeout (55 s in template.yaml): a claim this old has no
# live owner, so a later tick finishes it.
CLAIM_LEASE = timedelta(seconds=90)
# A claim's finish is made again this many times when the owner's edits keep moving the schedule.
_FINISH_ATTEMPTS = 3
# The overlap check looks at this many of a task's newest executions for one still going.
OVERLAP_WINDOW = 25


@dataclass
class TickSummary:
    """What one tick did. `skipped_missed` counts slots (not tasks) left out after an outage."""

    due: int = 0
    started: int = 0
    skipped_overlap: int = 0
    skipped_missed: int = 0
    paused: int = 0
    recovered: int = 0
    claimed_ahead: int = 0  # slots claimed before their time (lookahead): their workflows wait for them
    claimed_elsewhere: int = 0
    items_read: int = 0
    errors: int = 0
    settled_pending: int = 0  # stale pending executions the sweeper ended
    expired_queued: int = 0  # queued executions past queued_ttl_seconds, ended expired
    promoted: int = 0  # queued executions the sweep's promotion passes started
    dispatched: int = 0
    execution_ids: list[str] = field(default_factory=list)

    def merge(self, other: TickSummary) -> None:
        for name in (f.name for f in fields(self)):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(self, name, mine + theirs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "due": self.due,
            "started": self.started,
            "skipped_overlap": self.skipped_overlap,
            "skipped_missed": self.skipped_missed,
            "paused": self.paused,
            "recovered": self.recovered,
            "claimed_ahead": self.claimed_ahead,
            "claimed_elsewhere": self.claimed_elsewhere,
            "items_read": self.items_read,
            "errors": self.errors,
            "settled_pending": self.settled_pending,
            "expired_queued": self.expired_queued,
            "promoted": self.promoted,
            "dispatched": self.dispatched,
        }


class SlotDispatcher(Protocol):
    """Where the tick hands a claimed slot: run it now (inline) or queue it for a starter worker."""

    def dispatch(
        self, task: Task, pending: PendingSlot, now: datetime, summary: TickSummary, *, recovering: bool
    ) -> None: ...

    def flush(self) -> None: ...


class InlineDispatcher:
    """Run each claimed slot at once, in the tick (no queue): what a starter worker does with it."""

    def dispatch(
        self, task: Task, pending: PendingSlot, now: datetime, summary: TickSummary, *, recovering: bool
    ) -> None:
        run_claimed_slot(task, pending, now, summary, recovering=recovering)

    def flush(self) -> None:
        return None


def tick(
    now: datetime, *, rule: str | None, dispatcher: SlotDispatcher | None = None, workers: int = 1
) -> TickSummary:
    """Claim every due slot (each at most once across concurrent ticks) and dispatch it; see the
    module docstring. `workers` claims that many due tasks at once (the claims are independent)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be a timezone-aware datetime, got naive {now.isoformat()}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    now = now.replace(microsecond=0)
    dispatcher = dispatcher or InlineDispatcher()
    summary = TickSummary()
    try:  # first the sweeper: no execution stays pending without a workflow (nor blocks a slot)
        summary.settled_pending = execution_service.settle_stale_pending(now)
    except Exception:  # noqa: BLE001 - the slots matter more; the next tick sweeps again
        summary.errors += 1
        logger.exception("sweeping stale pending executions failed")
    try:  # queued executions past their queued_ttl_seconds end expired; owners with a queue get a pass
        swept = concurrency.sweep(now)
        summary.expired_queued, summary.promoted = swept.expired, swept.promoted
    except Exception:  # noqa: BLE001 - as above
        summary.errors += 1
        logger.exception("sweeping queued executions failed")

    entries = []
    horizon = now + timedelta(seconds=get_settings().schedule_lookahead_seconds)
    for shard in range(get_settings().due_shards):
        due_slice = schedule_store.query_due(shard, horizon)
        summary.items_read += due_slice.items_read
        entries.extend(due_slice.entries)
    # Oldest due first within each owner, owners interleaved (fairness.py).
    entries.sort(key=lambda entry: (entry.due_at, entry.task_id))
    ordered = interleave_owners(entries, owner=lambda entry: entry.owner_id or entry.task_id)
    lock = threading.Lock()

    def claim(task_id: str) -> None:
        own = TickSummary()
        # Every line about this task (and the execution it starts) carries its ids; cleared after.
        with execution_log_keys(task_id=task_id):
            try:
                _handle(task_id, now, rule, own, dispatcher)
            except Exception:  # noqa: BLE001 - one broken task must not stop the others' slots
                own.errors += 1
                logger.exception("scheduling a due task failed", extra={"task_id": task_id})
        with lock:
            summary.merge(own)

    if workers == 1:
        for entry in ordered:
            claim(entry.task_id)
    else:
        map_in_context(claim, [entry.task_id for entry in ordered], workers=workers, name="claim")
    dispatcher.flush()
    return summary


def _handle(
    task_id: str, now: datetime, rule: str | None, summary: TickSummary, dispatcher: SlotDispatcher
) -> None:
    task = task_store.get(task_id)
    if task is None or not task.is_due_indexed:
        return  # the index lags a delete or disable: nothing is due
    if task.pending_slot is not None:
        if now - task.pending_slot.claimed_at < CLAIM_LEASE:
            summary.claimed_elsewhere += 1
            return
        summary.due += 1
        summary.recovered += 1
        logger.info("finishing a slot a crashed tick claimed", extra={"task_id": task.id})
        dispatcher.dispatch(task, task.pending_slot, now, summary, recovering=True)
        task = task_store.get(task_id)
        if task is None or not task.is_due_indexed or task.pending_slot is not None:
            return
    if task.is_one_time and task.next_run_at is None:
        _end_if_last(task, None, now, summary, outcome="has run")  # its slot finished; the end did not
        return
    if task.next_run_at is None or not (task.schedule_cron or task.is_one_time):
        return
    offset = jitter_offset(task.id, task.next_run_at, task.jitter_seconds)
    ahead = task.next_run_at + offset > now  # within the lookahead: claimed now, begins at its time
    if task.next_run_at + offset > now + timedelta(seconds=get_settings().schedule_lookahead_seconds):
        return  # not due yet (the index lags an advance)
    summary.due += 1
    if _end_if_max_runs(task, now, summary):
        return  # max_runs lowered below the runs made: nothing more runs
    if should_pause(task.consecutive_failures, task.pause_after_failures):
        # The end-of-run hook pauses at once; this catches a lowered limit or a pause that failed.
        reason = (
            f"paused: {task.consecutive_failures} failed scheduled runs in a row reach "
            f"pause_after_failures ({task.pause_after_failures})"
        )
        if pause_schedule(task, reason=reason, now=now) is not None:
            summary.paused += 1
        return
    following: datetime | None  # the slot after this one; None for a one-time schedule
    if task.is_one_time:
        run_slot, skipped, following = task.next_run_at, 0, None
    elif ahead:  # the stored slot itself, not yet due: nothing was missed
        assert task.schedule_cron is not None
        following = next_fire_time(task.schedule_cron, task.schedule_timezone, after=task.next_run_at)
        run_slot, skipped = task.next_run_at, 0
    else:
        assert task.schedule_cron is not None
        # With jitter the slot is due `offset` after its time: plan on the task's shifted clock.
        plan = plan_tick(task.next_run_at, now - offset, task.schedule_cron, task.schedule_timezone)
        if plan.run_slot is None:
            return
        run_slot, skipped, following = plan.run_slot, plan.skipped_count, plan.next_run_at
    pending = PendingSlot(
        slot=run_slot,
        claimed_at=now,
        rule=rule,
        skipped_missed_slots=skipped,
        begins_at=run_slot + offset if ahead else None,
    )
    if not schedule_store.advance_schedule(task.id, task.next_run_at, following, pending):
        summary.claimed_elsewhere += 1  # another tick owns this slot
        return
    claimed = task.model_copy(update={"next_run_at": following, "pending_slot": pending})
    summary.claimed_ahead += ahead
    if too_late_to_catch_up(run_slot + offset, now, task.catchup_window_seconds):
        # Reached too late (an outage): the slot is skipped and recorded with the missed ones.
        audits = [_skip_audit(task, pending, now, "catchup_window", count=1)]
        if skipped:
            audits.append(_skip_audit(task, pending, now, "missed", count=skipped))
        summary.skipped_missed += skipped + 1
        finished = _finish(claimed, pending, audits, started=False)
        if finished is not None:
            _end_if_last(
                finished,
                finished.next_run_at,
                now,
                summary,
                outcome="was skipped: reached after catchup_window",
            )
        return
    dispatcher.dispatch(claimed, pending, now, summary, recovering=False)


def run_claimed_slot(
    task: Task, pending: PendingSlot, now: datetime, summary: TickSummary, *, recovering: bool
) -> None:
    """Decide and start (or skip) a claimed slot, then finish the claim with its audit events. A slot
    not yet due (claimed ahead) is started waiting for its time, undecided: its workflow's first step
    decides it then (services/slot_time.py), and counts it for max_runs if it runs."""
    execution_id = slot_execution_id(task.id, pending.slot)
    # Claimed ahead and still before its time (a late start decides the slot now, as one claimed due).
    due = pending.begins_at
    ahead = due is not None and due > now
    logger.append_keys(execution_id=execution_id, owner_id=task.owner_id)
    audits: list[AuditEvent] = []
    if pending.skipped_missed_slots:
        summary.skipped_missed += pending.skipped_missed_slots
        audits.append(_skip_audit(task, pending, now, "missed", count=pending.skipped_missed_slots))
    existing = execution_store.get(execution_id) if recovering else None
    running = _still_running(task, execution_id, now) if existing is None and not ahead else []
    decision = "start" if existing is not None or ahead else _overlap(task, running)
    overlapping = decision == "skip"
    outcome = "was skipped: an earlier run was still going" if overlapping else "has run"
    if ahead:
        outcome = "has started (its run waits for the slot's time)"
    if decision == "cancel_others":
        # cancel_other: the runs still going end as a user's cancel ends them, then this one starts.
        audits.append(_cancel_others(task, pending, now, [other for other, _ in running]))
    if existing is not None:
        # written before a crash (or by a duplicate delivery): only start it
        execution_service.ensure_started(existing, defer_throttled=True)
        summary.started += 1
        summary.execution_ids.append(execution_id)
    elif overlapping:
        summary.skipped_overlap += 1
        reason = "overlap_buffer_full" if task.overlap_policy == "buffer_one" else "overlap"
        audits.append(_skip_audit(task, pending, now, reason, count=1))
        logger.info("slot skipped: an earlier run is still going", extra={"task_id": task.id})
    else:
        try:
            _start(
                task,
                pending,
                now,
                execution_id,
                buffered=decision == "queue",
                waiting_until=due if ahead else None,
            )
        except SpendCapReachedError as capped:  # the owner's spend cap: skip the slot, say why
            skip = _skip_audit(task, pending, now, "spend_cap", count=1)
            skip.details["spend_cap"] = capped.details[0].get("ctx", {})
            audits.append(skip)
            outcome = "was skipped: the owner's spend cap is reached"
            logger.info("slot skipped: the owner's spend cap is reached", extra={"task_id": task.id})
        else:
            summary.started += 1
            summary.execution_ids.append(execution_id)
    # A run started waiting for its slot (now, or before a crash) is counted as it begins (slot_time.py).
    waits = ahead or (existing is not None and existing.waiting_until is not None)
    counted = not overlapping and not waits
    finished = _finish(task, pending, audits, started=counted)
    if finished is None:
        logger.info("slot claim already gone when finishing it", extra={"task_id": task.id})
        return
    _end_if_last(finished, finished.next_run_at, now, summary, outcome=outcome)
    if counted and finished.max_runs is not None:
        _end_if_max_runs(task_store.get(task.id), now, summary)


def _finish(task: Task, pending: PendingSlot, audits: list[AuditEvent], *, started: bool) -> Task | None:
    """Finish the claim on `pending` (finish_slot, with the slot's audit events), moving the task's due
    key to its next_run_at; the task as finished (its schedule), or None when the claim is no longer
    this slot's (finished already, or the schedule turned off).

    The owner may edit the schedule between the claim and its finish: the edit keeps the claim but
    changes next_run_at (a new cron, a moved run_at, an end that leaves no slot), so finish_slot's
    condition on the next_run_at the claim wrote fails. Then the finish is made again against the
    schedule as the owner left it (re-read): the claimed slot has run once, and the owner's schedule
    decides what comes next. Without this the claim stayed, and every tick after the lease took the
    slot up again."""
    current = task
    for _ in range(_FINISH_ATTEMPTS):
        if schedule_store.finish_slot(
            current.id,
            pending.slot,
            current.next_run_at,
            audits,
            jitter_seconds=current.jitter_seconds,
            count_run=started and current.max_runs is not None,
        ):
            return current
        stored = task_store.get(task.id)
        if (
            stored is None
            or not stored.is_due_indexed
            or stored.pending_slot is None
            or stored.pending_slot.slot != pending.slot
        ):
            return None
        current = stored
    return None


def _end_if_max_runs(task: Task | None, now: datetime, summary: TickSummary) -> bool:
    """Once a schedule has started max_runs slots it disables itself, saying why; True if it is done."""
    if task is None or task.max_runs is None or task.scheduled_runs < task.max_runs:
        return False
    reason = f"ended: max_runs ({task.max_runs}) scheduled runs have started"
    if pause_schedule(task, reason=reason, now=now) is not None:
        summary.paused += 1
    return True


def end_if_max_runs(task: Task, now: datetime) -> bool:
    """`_end_if_max_runs` for a run that began at its slot (services/slot_time.py)."""
    return _end_if_max_runs(task, now, TickSummary())


def still_running(task: Task, execution_id: str, now: datetime) -> list[tuple[str, str]]:
    """The task's other runs going now, with their statuses (for a slot judged at its time)."""
    return _still_running(task, execution_id, now)


def overlap_for(task: Task, running: list[tuple[str, str]]) -> OverlapDecision:
    """The overlap policy's decision for a slot while `running` are going."""
    return _overlap(task, running)


def cancel_others(task: Task, pending: PendingSlot, now: datetime, running: list[str]) -> AuditEvent:
    """Cancel the runs going (cancel_other) for a slot; the audit event that says which."""
    return _cancel_others(task, pending, now, running)


def _end_if_last(
    task: Task, next_run_at: datetime | None, now: datetime, summary: TickSummary, *, outcome: str
) -> None:
    """After its last slot a schedule disables itself, saying why: the one slot of a one-time schedule
    (`outcome` says what became of it; not when the owner moved run_at meanwhile, which left a
    next_run_at), or the last slot before schedule_end_at."""
    if task.is_one_time and task.run_at is not None and next_run_at is None:
        reason = f"ended: the one-time slot at run_at ({task.run_at.isoformat()}) {outcome}"
    elif window_ended(next_run_at, task.schedule_end_at) and task.schedule_end_at is not None:
        reason = f"ended: the last slot before schedule_end_at ({task.schedule_end_at.isoformat()}) has run"
    else:
        return
    if pause_schedule(task_store.get(task.id) or task, reason=reason, now=now) is not None:
        summary.paused += 1


def _still_running(task: Task, execution_id: str, now: datetime) -> list[tuple[str, str]]:
    """The task's earlier runs still queued, pending or running, with their statuses (read only when
    the policy cares)."""
    if task.overlap_policy == "allow":
        return []
    return [
        (other, status)
        for other, status in execution_store.active_for_task(
            task.id, newest=OVERLAP_WINDOW, stale_pending_before=now - execution_service.STALE_PENDING_AFTER
        )
        if other != execution_id
    ]


def _overlap(task: Task, running: list[tuple[str, str]]) -> OverlapDecision:
    """The overlap policy's decision for the slot: queued runs count as going (buffer_one: one waits)."""
    queued = sum(1 for _, status in running if status == "queued")
    return overlap_decision(task.overlap_policy, len(running), queued)


def _cancel_others(task: Task, pending: PendingSlot, now: datetime, running: list[str]) -> AuditEvent:
    """Cancel the task's runs still going, each through the one end path (status cancelled, workflow
    stopped, the end announced); the audit event that says which this slot cancelled."""
    reason = (
        f"cancelled by the scheduler: overlap_policy is cancel_other and the slot at "
        f"{pending.slot.isoformat()} is due"
    )
    cancelled = [other for other in running if execution_service.cancel_superseded(other, reason=reason)]
    logger.info("runs still going cancelled for a new slot", extra={"cancelled": cancelled})
    return _slot_audit(task, pending, now, "schedule.overlap_cancelled", cancelled_execution_ids=cancelled)


def _start(
    task: Task,
    pending: PendingSlot,
    now: datetime,
    execution_id: str,
    *,
    buffered: bool,
    waiting_until: datetime | None = None,
) -> None:
    metadata: dict[str, Any] = {
        "slot": pending.slot.isoformat(),
        "rule": pending.rule,
        "skipped_missed_slots": pending.skipped_missed_slots,
    }
    if task.jitter_seconds:
        metadata["jitter_seconds"] = jitter_offset(task.id, pending.slot, task.jitter_seconds).seconds
    try:
        execution_service.create_and_start(
            task,
            {},
            trigger_type="scheduled",
            trigger_metadata=metadata,
            actor=Actor(user_id=SCHEDULER_ACTOR),
            now=now,
            execution_id=execution_id,
            defer_throttled=True,  # a throttled slot stays claimed and pending: started again, not failed
            buffered=buffered,
            waiting_until=waiting_until,
        )
    except ConflictError:
        # The slot's execution exists: another attempt wrote it. Make sure it is started.
        existing = execution_store.get(execution_id)
        if existing is None:
            raise  # nothing was written (a transient conflict): keep the claim, a later tick retries the slot
        execution_service.ensure_started(existing, defer_throttled=True)


def _skip_audit(task: Task, pending: PendingSlot, now: datetime, reason: str, *, count: int) -> AuditEvent:
    return _slot_audit(task, pending, now, "schedule.slot_skipped", reason=reason, skipped_slots=count)


def _slot_audit(task: Task, pending: PendingSlot, now: datetime, action: str, **details: Any) -> AuditEvent:
    """The scheduler's audit event about one slot of the task (its time and rule with `details`)."""
    return audit_store.new_event(
        actor_id=SCHEDULER_ACTOR,
        owner_id=task.owner_id,
        action=action,
        resource_type="task",
        resource_id=task.id,
        at=now,
        request_id=None,
        details={**details, "slot": pending.slot.isoformat(), "rule": pending.rule},
    )
