"""No execution stays `pending` without a workflow, and none blocks its task's schedule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from agent_tasks.adapters import InMemoryWorkflows, WorkflowStartError
from agent_tasks.services import executions as execution_service
from agent_tasks.services.scheduler import tick
from agent_tasks.store import executions as execution_store
from tests.support.schedules import CALLER, executions_of, scheduled_task

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
RULE = "agent-tasks-scheduler-tick-test"


class _ProcessDied(BaseException):
    """Stands for the API function dying right after writing the execution (nothing catches it)."""


@pytest.fixture
def start_fails(workflows: InMemoryWorkflows) -> Callable[[BaseException, int], None]:
    """Make the next starts fail with a given error: what the workflow port's AWS adapter raises for
    StartExecution's failures (that mapping is tested against moto in tests/unit/test_aws_adapters.py),
    or an exception nothing catches."""
    return workflows.fail_next


def _throttled() -> WorkflowStartError:
    return WorkflowStartError("ThrottlingException")


@pytest.mark.parametrize(
    "error",
    [
        WorkflowStartError("ReadTimeoutError", answered=False),
        WorkflowStartError("EndpointConnectionError", answered=False),
        WorkflowStartError("AccessDeniedException"),
    ],
    ids=["read-timeout", "no-connection", "refused"],
)
def test_a_start_that_keeps_failing_ends_the_execution_failed(
    workflows: InMemoryWorkflows, start_fails: Callable[[BaseException, int], None], error: BaseException
) -> None:
    # Given StartExecution failing every time
    start_fails(error, 1000)
    task = scheduled_task("0 9 * * *", created=T0 - MINUTE)

    # When an execution is created
    execution = execution_service.create_and_start(task, {}, trigger_type="manual", actor=CALLER)

    # Then it ends failed, saying why, instead of staying pending
    stored = execution_store.get(execution.id)
    assert stored is not None
    assert stored.status == "failed"
    assert "the workflow could not be started" in (stored.error_message or "")


def test_a_start_throttled_once_is_retried_by_name(
    workflows: InMemoryWorkflows, start_fails: Callable[[BaseException, int], None]
) -> None:
    # Given StartExecution throttled once, then working
    start_fails(_throttled(), 1)
    task = scheduled_task("0 9 * * *", created=T0 - MINUTE)

    # When an execution is created
    execution = execution_service.create_and_start(task, {}, trigger_type="manual", actor=CALLER)

    # Then its workflow was started (once: the name is the execution id) and it is pending
    assert workflows.start_calls == 2
    assert workflows.started.count(execution.id) == 1
    assert execution_store.get(execution.id).status == "pending"  # type: ignore[union-attr]


def test_a_pending_execution_without_a_workflow_is_ended_and_the_schedule_keeps_firing(
    workflows: InMemoryWorkflows, start_fails: Callable[[BaseException, int], None]
) -> None:
    # Given a task every minute with overlap_policy skip, and a run of it written at 09:00 by an API
    # function that died before StartExecution
    task = scheduled_task("* * * * *", created=T0 + 5 * MINUTE, overlap_policy="skip")
    start_fails(_ProcessDied(), 1)
    with pytest.raises(_ProcessDied):
        execution_service.create_and_start(task, {}, trigger_type="manual", actor=CALLER, now=T0)
    [stuck] = executions_of(task.id)
    assert stuck.status == "pending"

    # When the scheduler ticks at 09:06, 09:07 and 09:08 (each run it starts ends before the next)
    started = []
    for minute in (6, 7, 8):
        summary = tick(T0 + minute * MINUTE, rule=RULE)
        started.append(summary.started)
        for execution in executions_of(task.id):
            if execution.status == "pending" and execution.id != stuck.id:
                execution_store.update(execution.id, {"status": "completed"})

    # Then the stuck run was ended by the sweeper, and every slot started
    ended = execution_store.get(stuck.id)
    assert ended is not None
    assert ended.status == "failed"
    assert "did not start within 5 minutes" in (ended.error_message or "")
    assert started == [1, 1, 1]


def test_a_pending_execution_younger_than_five_minutes_is_left_alone(workflows: InMemoryWorkflows) -> None:
    task = scheduled_task("0 9 * * *", created=T0 - MINUTE)
    execution = execution_service.create_and_start(task, {}, trigger_type="manual", actor=CALLER, now=T0)

    assert execution_service.settle_stale_pending(T0 + 5 * MINUTE) == 0
    assert execution_store.get(execution.id).status == "pending"  # type: ignore[union-attr]
    assert execution_service.settle_stale_pending(T0 + 5 * MINUTE + timedelta(seconds=1)) == 1
