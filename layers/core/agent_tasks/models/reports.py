"""A stored report of one execution, and how the API answers it (with a presigned download URL)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

from agent_tasks.models.common import API_BASE, ReportFormat


class Report(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    owner_id: str
    task_id: str
    execution_id: str
    format: ReportFormat
    content_type: str
    size_bytes: NonNegativeInt
    s3_key: str
    schema_version: str
    created_at: datetime
    # When the report item expires (Unix seconds: the table's TTL attribute), as its execution does.
    expires_at: int | None = None


class ReportResponse(BaseModel):
    """Report metadata and a short-lived download URL."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    task_id: str
    execution_id: str
    format: ReportFormat
    content_type: str
    size_bytes: int
    schema_version: str
    created_at: datetime
    download_url: str = Field(description="Presigned GET URL of the report file.")
    expires_at: datetime = Field(description="When download_url stops working.")
    links: dict[str, str] = Field(alias="_links")

    @classmethod
    def of(cls, report: Report, *, download_url: str, expires_at: datetime) -> ReportResponse:
        return cls(
            **report.model_dump(exclude={"owner_id", "s3_key", "expires_at"}),
            download_url=download_url,
            expires_at=expires_at,
            links={
                "self": f"{API_BASE}/reports/{report.id}",
                "execution": f"{API_BASE}/task-executions/{report.execution_id}",
                "task": f"{API_BASE}/tasks/{report.task_id}",
            },
        )
