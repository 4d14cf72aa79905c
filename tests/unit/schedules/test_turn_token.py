"""A scheduled run queued at its slot waits on a task token (the workflow's WaitForTurn state), not by
looking again every few seconds: `await_turn` keeps the token on the queued run with a write
conditional on it still being queued; whoever moves it out of the queue (the promoter, an end) answers
the token; a run that left the queue before the token was kept is answered by `await_turn` itself.

Storage is moto (the template's table); the workflow port is the in-memory fake, which records each
answered token (`resumed`): the subject is who answers the token, and with what."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from agent_tasks.adapters import InMemoryWorkflows
from agent_tasks.models.common import utc_now
from agent_tasks.models.executions import ExecutionResponse
from agent_tasks.schedules import slot_execution_id
from agent_tasks.services import concurrency, slot_time
from agent_tasks.services import executions as execution_service
from agent_tasks.services.actor import Actor
from agent_tasks.services.ending import end_execution
from agent_tasks.services.scheduler import tick
from agent_tasks.services.workflow import STEPS, StepCall
from agent_tasks.settings import get_settings
from agent_tasks.store import executions as execution_store
from agent_tasks.store import tasks as task_store
from tests.support.schedules import OWNER, scheduled_task

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULE = "agent-tasks-scheduler-tick-test"
TOKEN = "turn-token-of-the-wait"


@pytest.fixture
def lookahead(workflows: InMemoryWorkflows, monkeypatch: pytest.MonkeyPatch) -> InMemoryWorkflows:
    monkeypatch.setenv("SCHEDULE_LOOKAHEAD_SECONDS", "60")
    get_settings.cache_clear()
    return workflows


def _queued_at_its_slot() -> tuple[str, str]:
    """A buffer_one task whose 09:00 slot was claimed ahead, with a run going at 09:00: the slot's run
    is queued when it begins. Returns (the run going, the queued run)."""
    task = scheduled_task("0 9 * * *", created=T0 - timedelta(seconds=55), overlap_policy="buffer_one")
    assert tick(T0 - timedelta(seconds=50), rule=RULE).claimed_ahead == 1
    stored = task_store.get(task.id)
    assert stored is not None
    going = execution_service.create_and_start(
        stored, {}, trigger_type="manual", actor=Actor(user_id=OWNER), now=T0 - timedelta(minutes=2)
    )
    execution_store.update(
        going.id, {"status": "running", "started_at": (T0 - timedelta(minutes=1)).isoformat()}
    )
    waiting = slot_execution_id(task.id, T0)
    decided = slot_time.begin_slot(waiting, now=T0)
    assert decided["next"] == "wait_turn"
    assert execution_store.status_of(waiting) == "queued"
    return going.id, waiting


def _end(execution_id: str) -> None:
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert end_execution(execution, "completed") is not None


def test_a_token_kept_before_the_promotion_is_answered_by_the_promoter(lookahead: InMemoryWorkflows) -> None:
    # Given a run queued at its slot whose workflow waits on its token
    going, waiting = _queued_at_its_slot()
    assert slot_time.await_turn(waiting, TOKEN) == {"waiting": True}
    assert lookahead.resumed == []
    starts = lookahead.start_calls
    # When the run going ends (the one end path promotes the queued run)
    _end(going)
    # Then the promoter answered the token: the workflow goes on to Prepare, once
    assert lookahead.resumed == [(TOKEN, {"next": "run"})]
    assert execution_store.status_of(waiting) == "pending"
    # And no workflow start was asked for it (its workflow exists, and was woken)
    assert lookahead.start_calls == starts


def test_a_run_promoted_before_its_token_was_kept_is_answered_by_the_wait_itself(
    lookahead: InMemoryWorkflows,
) -> None:
    # Given a run queued at its slot, promoted (the run going ended) before its wait began
    going, waiting = _queued_at_its_slot()
    _end(going)
    assert execution_store.status_of(waiting) == "pending"
    assert lookahead.resumed == []
    # When the WaitForTurn state's call comes with its token
    answer = slot_time.await_turn(waiting, TOKEN)
    # Then the token was not kept (the run is no longer queued) and was answered at once: run
    assert answer == {"waiting": False, "next": "run"}
    assert lookahead.resumed == [(TOKEN, {"next": "run"})]
    stored = execution_store.get(waiting)
    assert stored is not None
    assert stored.turn_token is None


@pytest.mark.parametrize("end", ["cancelled", "expired"])
def test_a_run_that_ends_while_it_waits_for_its_turn_releases_the_wait(
    lookahead: InMemoryWorkflows, end: str
) -> None:
    # Given a run queued at its slot whose workflow waits on its token
    _, waiting = _queued_at_its_slot()
    assert slot_time.await_turn(waiting, TOKEN) == {"waiting": True}
    # When its owner cancels it, or its time in the queue passes (the scheduler's sweep)
    if end == "cancelled":
        execution_service.cancel(Actor(user_id=OWNER), waiting)
    else:
        stored = execution_store.get(waiting)
        assert stored is not None
        assert stored.queued_until is not None
        assert concurrency.sweep(stored.queued_until + timedelta(seconds=1)).expired == 1
    # Then it ended as before, and its wait was answered `stop` (the workflow goes to Done)
    assert execution_store.status_of(waiting) == end
    assert lookahead.resumed == [(TOKEN, {"next": "stop"})]


def test_a_run_cancelled_before_its_token_was_kept_is_released_by_the_wait_itself(
    lookahead: InMemoryWorkflows,
) -> None:
    _, waiting = _queued_at_its_slot()
    execution_service.cancel(Actor(user_id=OWNER), waiting)
    assert slot_time.await_turn(waiting, TOKEN) == {"waiting": False, "next": "stop"}
    assert lookahead.resumed == [(TOKEN, {"next": "stop"})]


def test_the_wait_is_bounded_by_the_queue_time_left_and_a_timed_out_wait_looks_once(
    lookahead: InMemoryWorkflows,
) -> None:
    # Given a run queued at its slot (the task's queued_ttl_seconds: the default hour)
    _, waiting = _queued_at_its_slot()
    stored = execution_store.get(waiting)
    assert stored is not None
    assert stored.queued_until is not None
    # Then the wait's timeout is the queue's time left plus the margin, never more
    now = utc_now()
    decided = slot_time.check_turn(waiting, now=now)
    left = (stored.queued_until - now).total_seconds()
    assert decided["next"] == "wait_turn"
    assert left < decided["timeout_seconds"] <= left + slot_time.TURN_TIMEOUT_MARGIN_SECONDS + 1
    # When a timed-out wait looks after the queue's time is over (the sweep has not come by yet)
    late = slot_time.check_turn(waiting, now=stored.queued_until + timedelta(seconds=1))
    # Then the run ends expired there, and the workflow stops
    assert late == {"next": "stop"}
    assert execution_store.status_of(waiting) == "expired"


def test_the_token_is_never_in_an_answer_a_dump_or_a_log(
    lookahead: InMemoryWorkflows, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a run queued at its slot, its token kept through the executor's step
    caplog.set_level(logging.INFO)
    _, waiting = _queued_at_its_slot()
    assert STEPS["await_turn"](StepCall(execution_id=waiting, task_token=TOKEN)) == {"waiting": True}
    stored = execution_store.get(waiting)
    assert stored is not None
    assert stored.turn_token == TOKEN
    # Then the API's view, the model's dump and repr leave it out
    assert TOKEN not in ExecutionResponse.of(stored).model_dump_json()
    assert TOKEN not in stored.model_dump_json()
    assert TOKEN not in repr(stored)
    # And when it is cancelled (the token answered) nothing logged carries it
    execution_service.cancel(Actor(user_id=OWNER), waiting)
    assert lookahead.resumed == [(TOKEN, {"next": "stop"})]
    assert TOKEN not in caplog.text


def test_the_step_refuses_a_call_without_a_token(lookahead: InMemoryWorkflows) -> None:
    with pytest.raises(ValueError, match="task_token"):
        STEPS["await_turn"](StepCall(execution_id="any"))


def test_a_promotion_whose_answer_was_lost_is_woken_by_the_stale_pending_sweep(
    lookahead: InMemoryWorkflows,
) -> None:
    # Given a run queued at its slot whose workflow waits on its token (the queue's hour ahead of it)
    going, waiting = _queued_at_its_slot()
    assert slot_time.await_turn(waiting, TOKEN) == {"waiting": True}
    # And the promoter's answer lost on the way (the token still waits, for up to the queue's time left)
    lookahead.answers_to_lose = 1
    _end(going)
    promoted = execution_store.get(waiting)
    assert promoted is not None
    assert promoted.status == "pending"
    assert promoted.dequeued_at is not None
    assert lookahead.resumed == []
    # When the stale-pending sweep finds it pending past its limit
    later = promoted.dequeued_at + execution_service.STALE_PENDING_AFTER + timedelta(seconds=1)
    settled = execution_service.settle_stale_pending(later)
    # Then the sweep answered the waiting token `run` again instead of ending a run whose workflow waits
    assert settled == 0
    assert lookahead.resumed == [(TOKEN, {"next": "run"})]
    assert execution_store.status_of(waiting) == "pending"


def test_a_stale_pending_run_whose_wait_is_over_still_ends_failed(lookahead: InMemoryWorkflows) -> None:
    # Given a promoted run whose wait is no longer there (answered, its workflow gone), still pending
    going, waiting = _queued_at_its_slot()
    assert slot_time.await_turn(waiting, TOKEN) == {"waiting": True}
    _end(going)
    assert lookahead.resumed == [(TOKEN, {"next": "run"})]
    promoted = execution_store.get(waiting)
    assert promoted is not None
    assert promoted.dequeued_at is not None
    # When the stale-pending sweep finds it
    later = promoted.dequeued_at + execution_service.STALE_PENDING_AFTER + timedelta(seconds=1)
    # Then it ends failed, as any run pending without a workflow does
    assert execution_service.settle_stale_pending(later) == 1
    assert execution_store.status_of(waiting) == "failed"
