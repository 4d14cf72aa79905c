"""The executor's steps against moto: transitions only from the expected status, timeouts, failures."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest

from agent_tasks.models.common import utc_now
from agent_tasks.models.transcript import TranscriptMessage
from agent_tasks.services import executions as service
from agent_tasks.services import workflow
from agent_tasks.store import executions as execution_store
from agent_tasks.store import sessions as session_store
from agent_tasks.store import workspaces
from tests.support.executions import pending_execution, stored_task

LAMBDA_CAUSE = json.dumps(
    {
        "errorType": "KeyError",
        "errorMessage": "'prompt_template'",
        "stackTrace": ['  File "/var/task/app.py", line 12, in handler\n'],
    }
)


def _run_to_completion(execution_id: str) -> dict[str, Any]:
    assert workflow.prepare(execution_id) == {"next": "run"}
    step = workflow.run_agent(execution_id)
    while step["next"] == "continue":
        step = workflow.run_agent(execution_id)
    return step


def test_a_full_run_completes_with_counts_and_removes_the_workspace(aws: dict[str, str]) -> None:
    # Given a pending execution
    task = stored_task()
    execution_id = pending_execution(task, {"topic": "ops", "audience": "sre"})
    # When its steps run in order
    assert _run_to_completion(execution_id) == {"next": "finalize"}
    assert workflow.finalize(execution_id, {}) == {"status": "completed"}
    # Then it is completed with its totals and the transcript is stored
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.status == "completed"
    assert execution.rendered_prompt == "Summarise the ops notes for sre."
    assert execution.total_messages == 8
    assert execution.total_tool_calls == 3
    assert execution.result_data is not None
    assert execution.result_data.outcome == "completed"
    assert execution.duration_seconds is not None
    assert execution.session_id is not None
    assert len(session_store.all_messages(execution.session_id)) == 8
    assert [n.destination for n in execution.notifications] == ["eventbridge"]
    listing = boto3.client("s3").list_objects_v2(
        Bucket=aws["BUCKET_NAME"], Prefix=workspaces.workspace_key(task.owner_id, execution_id)
    )
    assert listing.get("KeyCount", 0) == 0


def test_a_report_task_goes_to_report_and_says_no_report_was_made_when_it_failed(aws: dict[str, str]) -> None:
    task = stored_task(generate_report=True, report_format="markdown")
    execution_id = pending_execution(task)
    assert _run_to_completion(execution_id) == {"next": "report"}
    workflow.finalize(execution_id, {"report_error": {"Error": "NotImplementedError", "Cause": "{}"}})
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.status == "completed"
    assert execution.report_note is not None
    assert execution.report_note.startswith("no report was made")


def test_past_its_deadline_an_execution_is_timed_out(aws: dict[str, str]) -> None:
    # Given a running execution whose deadline has passed
    execution_id = pending_execution(stored_task())
    workflow.prepare(execution_id)
    execution_store.update(execution_id, {"deadline_at": (utc_now() - timedelta(seconds=1)).isoformat()})
    # When RunAgent is invoked
    step = workflow.run_agent(execution_id)
    # Then it stops and the execution is timed out, saying why
    assert step == {"next": "stop"}
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.status == "timed_out"
    assert execution.error_message == "the execution ran longer than the task's timeout_seconds (900)"


def test_mark_failed_records_the_reason_without_a_stack_trace(aws: dict[str, str]) -> None:
    execution_id = pending_execution(stored_task())
    workflow.prepare(execution_id)
    assert workflow.mark_failed(execution_id, {"Error": "KeyError", "Cause": LAMBDA_CAUSE}) == {
        "status": "failed"
    }
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.error_message == "KeyError: 'prompt_template'"


def test_an_agent_failure_reads_as_its_own_message(aws: dict[str, str]) -> None:
    execution_id = pending_execution(stored_task())
    cause = json.dumps({"errorType": "AgentRunFailed", "errorMessage": "the model API rejected the request"})
    workflow.mark_failed(execution_id, {"Error": "AgentRunFailed", "Cause": cause})
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.error_message == "the model API rejected the request"


def test_a_state_machine_timeout_is_timed_out(aws: dict[str, str]) -> None:
    execution_id = pending_execution(stored_task())
    workflow.prepare(execution_id)
    assert workflow.mark_failed(execution_id, {"Error": "States.Timeout", "Cause": ""}) == {
        "status": "timed_out"
    }


@pytest.mark.parametrize("ended", ["cancelled", "completed"])
def test_mark_failed_never_overwrites_an_execution_that_ended(aws: dict[str, str], ended: str) -> None:
    execution_id = pending_execution(stored_task())
    execution_store.update(execution_id, {"status": ended})
    assert workflow.mark_failed(execution_id, {"Error": "X", "Cause": "y"}) == {"status": ended}
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.status == ended


def test_a_cancelled_execution_is_not_prepared_or_run(aws: dict[str, str]) -> None:
    execution_id = pending_execution(stored_task())
    execution_store.update(execution_id, {"status": "cancelled"}, status_in={"pending"})
    assert workflow.prepare(execution_id) == {"next": "stop"}
    assert workflow.run_agent(execution_id) == {"next": "stop"}
    assert workflow.finalize(execution_id, {}) == {"status": "cancelled"}


def test_a_retried_prepare_reuses_its_session(aws: dict[str, str]) -> None:
    execution_id = pending_execution(stored_task())
    workflow.prepare(execution_id)
    first = execution_store.get(execution_id)
    assert workflow.prepare(execution_id) == {"next": "run"}
    again = execution_store.get(execution_id)
    assert first is not None
    assert again is not None
    assert again.session_id == first.session_id


def test_status_changes_are_conditional(aws: dict[str, str]) -> None:
    execution_id = pending_execution(stored_task())
    assert execution_store.update(execution_id, {"status": "running"}, status_in={"pending"}) is not None
    assert execution_store.update(execution_id, {"status": "running"}, status_in={"pending"}) is None
    assert execution_store.update("no-such-execution", {"status": "failed"}) is None


def test_large_message_content_is_spilled_to_s3_and_read_back(aws: dict[str, str]) -> None:
    execution_id = pending_execution(stored_task())
    workflow.prepare(execution_id)
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.session_id is not None
    session = session_store.get(execution.session_id)
    assert session is not None
    big = "x" * (session_store.INLINE_CONTENT_LIMIT_BYTES + 10)
    message = TranscriptMessage(
        seq=1, role="user", content=[{"type": "text", "text": big}], created_at=utc_now()
    )
    session_store.put_message(session, message)
    stored = boto3.client("s3").get_object(
        Bucket=aws["BUCKET_NAME"], Key=session_store.spill_key(session.owner_id, session.id, 1)
    )
    assert stored["ServerSideEncryption"] == "AES256"
    assert session_store.all_messages(session.id) == [message]


def test_when_the_workflow_cannot_start_the_execution_is_failed_not_left_pending(aws: dict[str, str]) -> None:
    # Given the state machine does not exist (moto has none in this test)
    task = stored_task()
    # When the task is executed
    execution = service.execute(service.Actor(user_id=task.owner_id), task.id, {"topic": "a"})
    # Then the execution says it failed, and why
    assert execution.status == "failed"
    assert execution.error_message is not None
    assert execution.error_message.startswith("the workflow could not be started")
    # And its end is announced like any other (event recorded; schedules count it as a failure)
    assert [n.destination for n in execution.notifications] == ["eventbridge"]


def test_the_executor_handler_refuses_an_unknown_step(aws: dict[str, str]) -> None:
    from tests.support.fixtures import LambdaClient, load_function

    executor = LambdaClient(load_function("executor"), "executor")
    with pytest.raises(ValueError, match="unknown step"):
        executor({"step": "explode", "execution_id": "x"})


class _FailingProvider:
    """A model that answers with an API error."""

    def __init__(self, status: int) -> None:
        self.status = status

    @property
    def name(self) -> str:
        return "anthropic"

    def create_message(self, request: Any) -> Any:
        from agent_tasks.agent.model_api import ModelCallError

        raise ModelCallError(f"the model API answered {self.status}", status=self.status)


def test_an_overloaded_model_is_a_transient_error_and_the_retry_resumes(aws: dict[str, str]) -> None:
    from agent_tasks.agent.scripted import ScriptedProvider

    # Given a running execution whose model is overloaded
    execution_id = pending_execution(stored_task())
    workflow.prepare(execution_id)
    # When RunAgent is invoked, it raises the error the state machine retries
    with pytest.raises(workflow.TransientModelError, match="529"):
        workflow.run_agent(execution_id, provider=_FailingProvider(529))
    # And the retry, with the model back, resumes from the stored prompt and completes
    assert workflow.run_agent(execution_id, provider=ScriptedProvider()) == {"next": "finalize"}
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.session_id is not None
    messages = session_store.all_messages(execution.session_id)
    assert [m.seq for m in messages] == list(range(1, 9))
    assert [m.role for m in messages].count("user") == 4


def test_a_rejected_request_fails_the_run_for_good(aws: dict[str, str]) -> None:
    execution_id = pending_execution(stored_task())
    workflow.prepare(execution_id)
    with pytest.raises(workflow.AgentRunFailed, match="400"):
        workflow.run_agent(execution_id, provider=_FailingProvider(400))


def test_a_prepare_that_crashed_after_creating_its_session_makes_no_second_one(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Prepare dies after writing the session, before marking the execution running
    execution_id = pending_execution(stored_task())
    original = execution_store.update
    monkeypatch.setattr(
        execution_store, "update", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("crash"))
    )
    with pytest.raises(RuntimeError):
        workflow.prepare(execution_id)
    monkeypatch.setattr(execution_store, "update", original)
    # When Step Functions retries it
    assert workflow.prepare(execution_id) == {"next": "run"}
    # Then the execution runs in the one session the first attempt created
    execution = execution_store.get(execution_id)
    assert execution is not None
    sessions = boto3.client("dynamodb").scan(
        TableName=aws["TABLE_NAME"],
        FilterExpression="entity = :session",
        ExpressionAttributeValues={":session": {"S": "session"}},
    )["Items"]
    assert [item["id"]["S"] for item in sessions] == [execution.session_id]
