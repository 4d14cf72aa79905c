"""Reports: rendered in the workflow's Report step, read through the API with a presigned URL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, cast

from agent_tasks.errors import NotFoundError
from agent_tasks.models.common import API_BASE, Page, utc_now
from agent_tasks.models.executions import Execution
from agent_tasks.models.reports import Report, ReportResponse
from agent_tasks.observability import bind_execution, logger
from agent_tasks.retention import object_tagging
from agent_tasks.services.actor import Actor
from agent_tasks.services.paging import LIST_TOTAL_AT_MOST, check_walk, decode_cursor, encode_cursor, page_of
from agent_tasks.services.tasks import owned_task
from agent_tasks.settings import get_settings
from agent_tasks.store import executions as execution_store
from agent_tasks.store import reports as report_store
from agent_tasks.store import sessions as session_store


def build_document(execution: Execution) -> Any:
    """The ReportDocument of an execution whose agent run has ended (rendered before Finalize)."""
    from agent_tasks.reports.document import (
        ReportDocument,
        ReportExecution,
        ReportResult,
        ReportTask,
        ToolCallSummary,
    )

    now = utc_now()
    transcript = session_store.all_messages(execution.session_id) if execution.session_id else []
    snapshot = execution.task_snapshot
    result = execution.result_data
    duration = (
        round((now - execution.started_at).total_seconds(), 3) if execution.started_at is not None else None
    )
    return ReportDocument(
        generated_at=now,
        task=ReportTask(
            id=execution.task_id,
            name=execution.task_name,
            description=snapshot.get("description"),
            version=execution.task_version,
        ),
        execution=ReportExecution(
            id=execution.id,
            # The report is made when the run has ended well; Finalize marks it completed next.
            status="completed" if execution.status == "running" else execution.status,
            trigger_type=execution.trigger_type,
            trigger_metadata=execution.trigger_metadata,
            session_id=execution.session_id,
            created_at=execution.created_at,
            started_at=execution.started_at,
            completed_at=execution.completed_at or now,
            duration_seconds=execution.duration_seconds
            if execution.duration_seconds is not None
            else duration,
            error_message=execution.error_message,
        ),
        prompt=execution.rendered_prompt or "",
        variables=execution.prompt_variables,
        result=ReportResult(
            final_text=result.final_text if result else None,
            outcome=result.outcome if result else None,
            structured_output=result.structured_output if result else None,
        ),
        transcript=transcript,
        tool_calls=ToolCallSummary.from_transcript(transcript, execution.permission_denials),
        usage=execution.usage,
        cost_usd=execution.cost_usd,
        cost_note=execution.cost_note,
        provider=execution.provider or "scripted",
        model=execution.model or str((snapshot.get("sdk_options") or {}).get("model", "unknown")),
    )


def generate(execution_id: str) -> dict[str, Any]:
    """Render the execution's report to S3 and record it; a retried step does not make a second one."""
    from agent_tasks.models.common import ReportFormat
    from agent_tasks.reports.document import REPORT_SCHEMA_VERSION
    from agent_tasks.reports.render import render

    execution = execution_store.get(execution_id)
    if execution is None:
        raise NotFoundError(f"execution {execution_id} is not stored")
    bind_execution(execution)
    if execution.report_id is not None:
        return {"report_id": execution.report_id}
    if execution.status != "running":
        return {"report_id": None, "skipped": execution.status}
    fmt = cast(ReportFormat, execution.task_snapshot.get("report_format") or "html")
    rendered = render(build_document(execution), fmt)
    report = Report(
        id=str(uuid.uuid4()),
        owner_id=execution.owner_id,
        task_id=execution.task_id,
        execution_id=execution.id,
        format=fmt,
        content_type=rendered.content_type,
        size_bytes=len(rendered.body),
        s3_key="",
        schema_version=REPORT_SCHEMA_VERSION,
        created_at=utc_now(),
        expires_at=execution.expires_at,
    )
    report.s3_key = report_store.report_s3_key(
        execution.owner_id, execution.id, report.id, rendered.file_extension
    )
    report_store.put_file(
        report.s3_key,
        rendered.body,
        rendered.content_type,
        tagging=object_tagging(execution.expires_at, report.created_at),
    )
    if not report_store.create_for_running_execution(report):
        current = execution_store.get(execution_id)
        logger.info("report not recorded", extra={"execution_id": execution_id})
        return {"report_id": current.report_id if current else None}
    logger.info("report generated", extra={"execution_id": execution_id, "format": fmt})
    return {"report_id": report.id}


def _answer(report: Report) -> ReportResponse:
    ttl = get_settings().report_url_ttl_seconds
    return ReportResponse.of(
        report,
        download_url=report_store.presigned_url(report.s3_key, ttl),
        expires_at=utc_now() + timedelta(seconds=ttl),
    )


def own_report(user_id: str, report_id: str) -> ReportResponse:
    report = report_store.get(report_id)
    if report is None or report.owner_id != user_id:
        raise NotFoundError("no such report")
    return _answer(report)


def list_for_task(
    user_id: str, task_id: str, *, page: int, page_size: int, cursor: str | None
) -> Page[ReportResponse]:
    check_walk(page, cursor)
    owned_task(Actor(user_id=user_id), task_id, allow_deleted=True)
    filters = {"task_id": task_id, "page_size": page_size}
    start_key: dict[str, Any] | None = None
    if cursor:
        position = decode_cursor(cursor, filters, key_shape=report_store.cursor_key_shape(task_id))
        start_key, page = position.key, position.page
    else:
        for _ in range(page - 1):  # walk past earlier pages
            _, start_key = report_store.list_for_task(task_id, limit=page_size, start_key=start_key)
            if start_key is None:
                break
    reports: list[Report] = []
    if page == 1 or start_key is not None or cursor:
        reports, start_key = report_store.list_for_task(task_id, limit=page_size, start_key=start_key)
    next_cursor = encode_cursor({"key": start_key, "page": page + 1}, filters) if start_key else None
    return page_of(
        ReportResponse,
        [_answer(r) for r in reports],
        path=f"{API_BASE}/tasks/{task_id}/reports",
        query={},
        page=page,
        page_size=page_size,
        total=report_store.count_for_task(task_id, at_most=LIST_TOTAL_AT_MOST),
        next_cursor=next_cursor,
        cursor=cursor,
        walked=True,
    )
