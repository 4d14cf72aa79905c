"""The scheduler's fan-out: claimed slots go to the start queue, starter workers start them.

Why an SQS queue and a starter function rather than a Distributed Map: the tick claims slots one
by one as it finds them and can hand each over at once (no Map run to assemble first); a worker
that dies leaves its messages to come back after the visibility timeout, and a message that keeps
failing goes to a dead-letter queue, with the slot still claimed on the task, so a later tick
sends it again (services/scheduler.py, CLAIM_LEASE); partial batch responses retry only the slots
that failed; the workers' concurrency is one setting (the event source's MaximumConcurrency); and
it runs locally (moto's Step Functions interpreter has no Distributed Map).

Guarantees, unchanged from the inline tick: a message only names a slot the tick has claimed (the
task's `pending_slot`); the worker re-reads the task and runs that slot with the slot's
deterministic execution id, so a duplicate delivery finds the execution written and only makes
sure it is started; a message for a slot already finished (or a task deleted or disabled since)
does nothing. A throttled StartExecution is retried with backoff (schedules/quotas.py) while the
worker has time, and otherwise left for the queue to deliver again: the execution stays pending,
never failed for it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from agent_tasks import start_queue
from agent_tasks.models.tasks import PendingSlot, Task
from agent_tasks.observability import execution_log_keys, logger
from agent_tasks.schedules.quotas import (
    BucketQuota,
    backoff_delays,
    planned_start_offset,
    queue_delay,
)
from agent_tasks.services import executions as execution_service
from agent_tasks.services.executions import StartThrottled
from agent_tasks.services.scheduler import TickSummary, run_claimed_slot
from agent_tasks.store import executions as execution_store
from agent_tasks.store import tasks as task_store

SlotOutcome = Literal["started", "skipped", "finished_already", "gone"]


class SlotStart(BaseModel):
    """One start-queue message: a slot the tick claimed on a task."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["slot"] = "slot"
    task_id: str = Field(min_length=1, max_length=64)
    slot: AwareDatetime
    owner_id: str | None = Field(default=None, max_length=256)
    rule: str | None = Field(default=None, max_length=256)
    claimed_at: AwareDatetime
    # Epoch seconds before which the start would find no token (the tick's pacing plan); the queue's
    # DelaySeconds covers the whole seconds, the starter waits out the rest.
    not_before: float | None = Field(default=None, ge=0)


class ExecutionStart(BaseModel):
    """One start-queue message: a written, pending execution to start (a backfilled slot)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["execution"] = "execution"
    execution_id: str = Field(min_length=1, max_length=64)


StartMessage: TypeAdapter[SlotStart | ExecutionStart] = TypeAdapter(
    Annotated[SlotStart | ExecutionStart, Field(discriminator="kind")]
)


class QueueDispatcher:
    """The tick's dispatcher in AWS: buffer claimed slots and send them 10 to a request, in the
    order the tick claimed them (owners interleaved), each held back in the queue until the start
    quota has a token for it (schedules/quotas.py `planned_start_delay`; `quota` None: no pacing).
    Thread-safe: claims run in parallel. `clock` is monotonic seconds (injectable for tests)."""

    def __init__(
        self,
        queue_url: str,
        *,
        quota: BucketQuota | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._queue_url = queue_url
        self._quota = quota
        self._clock = clock
        self._plan_start: float | None = None
        self._queued = 0
        self._buffer: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def dispatch(
        self, task: Task, pending: PendingSlot, now: datetime, summary: TickSummary, *, recovering: bool
    ) -> None:
        batch: list[tuple[str, int]] = []
        with self._lock:
            delay, not_before = 0, None
            if self._quota is not None:
                wall = self._clock()
                if self._plan_start is None:
                    self._plan_start = wall
                planned = self._plan_start + planned_start_offset(self._queued, self._quota)
                if planned > wall:
                    delay, not_before = queue_delay(planned, wall), round(planned, 3)
            self._queued += 1
            message = SlotStart(
                task_id=task.id,
                slot=pending.slot,
                owner_id=task.owner_id,
                rule=pending.rule,
                claimed_at=now,
                not_before=not_before,
            )
            self._buffer.append((message.model_dump_json(), delay))
            if len(self._buffer) >= start_queue.BATCH_LIMIT:
                batch, self._buffer = self._buffer, []
        self._send(batch)
        summary.dispatched += 1

    def flush(self) -> None:
        with self._lock:
            batch, self._buffer = self._buffer, []
        self._send(batch)

    def _send(self, batch: list[tuple[str, int]]) -> None:
        if not batch:
            return
        delays = [delay for _, delay in batch]
        start_queue.send(self._queue_url, [body for body, _ in batch], delays=delays if any(delays) else None)


def start_message(
    message: SlotStart | ExecutionStart,
    now: datetime,
    *,
    time_left: Callable[[], float],
    sleep: Callable[[float], None],
    rng: random.Random | None = None,
) -> SlotOutcome:
    """Run the claimed slot a message names, or start the execution it names (see the module
    docstring). Raises StartThrottled when the start stayed throttled for as long as `time_left()`
    allowed: the message is to come back."""
    task_id = message.task_id if isinstance(message, SlotStart) else None
    with execution_log_keys(task_id=task_id):
        if isinstance(message, SlotStart) and message.not_before is not None:
            # The tick's pacing plan: the queue held it back whole seconds, this waits the rest.
            wait = min(1.0, message.not_before - now.timestamp())
            if wait > 0 and time_left() > wait + 1.0:
                sleep(wait)
        delays = backoff_delays(rng=rng)
        while True:
            try:
                if isinstance(message, SlotStart):
                    return _start_once(message, now)
                return _start_execution(message)
            except StartThrottled:
                delay = next(delays)
                if time_left() < delay + 1.0:
                    raise
                logger.info("StartExecution throttled; backing off", extra={"delay_seconds": delay})
                sleep(delay)


def _start_execution(message: ExecutionStart) -> SlotOutcome:
    execution = execution_store.get(message.execution_id)
    if execution is None or execution.status != "pending":
        return "finished_already"  # cancelled meanwhile, or a duplicate delivery
    execution_service.ensure_started(execution, defer_throttled=True)
    return "started"


def _start_once(message: SlotStart, now: datetime) -> SlotOutcome:
    task = task_store.get(message.task_id)
    if task is None or not task.is_due_indexed:
        return "gone"  # deleted, disabled or paused since the claim: nothing runs
    pending = task.pending_slot
    if pending is None or pending.slot != message.slot:
        return (
            "finished_already"  # a duplicate delivery of a slot that was run (maybe a newer one is claimed)
        )
    summary = TickSummary()
    run_claimed_slot(task, pending, now, summary, recovering=True)
    return "started" if summary.started else "skipped"
