"""The Report step: renders once, records the report with the execution, skips a cancelled one."""

from __future__ import annotations

import boto3

from agent_tasks.services import reports, workflow
from agent_tasks.store import executions as execution_store
from agent_tasks.store import reports as report_store
from tests.support.executions import pending_execution, stored_task


def _ran(report_format: str) -> str:
    execution_id = pending_execution(stored_task(generate_report=True, report_format=report_format))
    assert workflow.prepare(execution_id) == {"next": "run"}
    assert workflow.run_agent(execution_id) == {"next": "report"}
    return execution_id


def test_the_report_is_rendered_to_s3_and_recorded_once(aws: dict[str, str]) -> None:
    # Given an execution whose agent run ended
    execution_id = _ran("html")
    # When the Report step runs, and runs again (a retry)
    first = reports.generate(execution_id)
    again = reports.generate(execution_id)
    # Then one report exists, linked from the execution, encrypted in S3 under the owner's prefix
    assert first == again
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.report_id == first["report_id"]
    report = report_store.get(first["report_id"])
    assert report is not None
    assert report.s3_key == f"reports/user-1/{execution_id}/{report.id}.html"
    head = boto3.client("s3").head_object(Bucket=aws["BUCKET_NAME"], Key=report.s3_key)
    assert head["ContentType"] == "text/html; charset=utf-8"
    assert head["ServerSideEncryption"] == "AES256"
    # And Finalize then completes it without a "no report" note
    workflow.finalize(execution_id, {})
    done = execution_store.get(execution_id)
    assert done is not None
    assert done.status == "completed"
    assert done.report_note is None


def test_a_cancelled_execution_gets_no_report(aws: dict[str, str]) -> None:
    execution_id = _ran("markdown")
    execution_store.update(execution_id, {"status": "cancelled"})
    assert reports.generate(execution_id) == {"report_id": None, "skipped": "cancelled"}


def test_the_reporter_refuses_an_event_without_an_execution_id(aws: dict[str, str]) -> None:
    import pytest
    from pydantic import ValidationError

    from tests.support.fixtures import LambdaClient, load_function

    # Given the reporter function / When an event without an execution id reaches it
    reporter = LambdaClient(load_function("reporter"), "reporter")
    # Then the invocation fails naming the field (parsed by its event model)
    with pytest.raises(ValidationError, match="execution_id"):
        reporter({"execution_id": ""})
