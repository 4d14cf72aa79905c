"""An audit event: who did what to which resource, when, in which request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    actor_id: str = Field(description="The user who made the change.")
    owner_id: str
    action: str = Field(description="e.g. task.created, task.updated, task.deleted, execution.started")
    resource_type: str
    resource_id: str
    changed_fields: list[str] = Field(default_factory=list)
    request_id: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    at: datetime
