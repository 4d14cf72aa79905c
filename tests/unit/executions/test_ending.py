"""One way an execution ends: the record it leaves is coherent whichever ending wins a race."""

from __future__ import annotations

import pytest

from agent_tasks.models.executions import ExecutionResponse
from agent_tasks.services import executions as service
from agent_tasks.services import reports, workflow
from agent_tasks.services.actor import Actor
from agent_tasks.store import executions as execution_store
from tests.support.executions import pending_execution, stored_task


def _agent_finished(*, report: bool) -> str:
    """An execution whose agent run ended (and, with `report`, whose report was made), not yet finalized."""
    task = stored_task(generate_report=report, report_format="markdown" if report else None)
    execution_id = pending_execution(task, {"topic": "ops", "audience": "sre"})
    assert workflow.prepare(execution_id) == {"next": "run"}
    step = workflow.run_agent(execution_id)
    while step["next"] == "continue":
        step = workflow.run_agent(execution_id)
    assert step == {"next": "report" if report else "finalize"}
    if report:
        assert reports.generate(execution_id)["report_id"]
    return execution_id


@pytest.mark.parametrize("report", [False, True])
def test_a_cancel_just_after_the_agent_finished_leaves_a_cancelled_record(
    aws: dict[str, str], report: bool
) -> None:
    # Given an execution whose agent has just finished (outcome completed, maybe a report made)
    execution_id = _agent_finished(report=report)
    # When its owner cancels it before Finalize runs, and then Finalize runs
    cancelled = service.cancel(Actor(user_id="user-1"), execution_id)
    assert workflow.finalize(execution_id, {}) == {"status": "cancelled"}
    # Then the execution is cancelled, and says nothing of a completed run: no outcome, no report link
    stored = execution_store.get(execution_id)
    assert stored is not None
    for execution in (cancelled, stored):
        assert execution.status == "cancelled"
        assert execution.result_data is None
        assert execution.report_id is None
        assert "report" not in ExecutionResponse.of(execution).links
    assert stored.completed_at is not None
    assert stored.duration_seconds is not None
    assert [n.destination for n in stored.notifications] == ["eventbridge"]


def test_finalize_after_the_run_keeps_the_outcome_and_the_report(aws: dict[str, str]) -> None:
    # Given an execution whose agent finished and whose report was made
    execution_id = _agent_finished(report=True)
    # When Finalize runs (no cancel)
    assert workflow.finalize(execution_id, {}) == {"status": "completed"}
    # Then the completed execution keeps its outcome and links its report
    stored = execution_store.get(execution_id)
    assert stored is not None
    assert stored.result_data is not None
    assert stored.result_data.outcome == "completed"
    assert stored.report_id is not None
