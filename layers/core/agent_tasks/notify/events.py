"""The events the notifier delivers: an execution's end (`NotificationEvent`) and task events.

An execution's end is one event on the service's bus whose detail is a `NotificationEvent`; its id
is derived from (execution, status), so a repeated ending or a retried delivery carries the same
id. A task event (SchedulePaused, ModelRetiring, BudgetReached, ApprovalRequested) is delivered
with its detail as put, wrapped in a `TaskEvent` whose id is derived from that detail.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

from agent_tasks.models.notifications import (
    EVENT_TYPE_BY_STATUS,
    ExecutionEndOn,
    NotificationEventType,
)

EVENT_SOURCE = "agent-tasks"
# Event ids are derived from (execution, status) so a repeated Finalize sends the same id.
_EVENT_ID_NAMESPACE = uuid.UUID("5b0f7f8e-4a5e-4c55-9d1b-6a2f3c0e9d41")


def event_id_for(execution_id: str, status: ExecutionEndOn) -> str:
    """The event id of an execution's end: the same every time, so receivers can drop repeats."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{execution_id}/{status}"))


def task_event_id(detail_type: str, detail: dict[str, Any]) -> str:
    """The id of a task event: derived from what it says, so the same event has the same id."""
    canonical = json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str)
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{detail_type}/{canonical}"))


class NotificationEvent(BaseModel):
    """An execution ended: the bus event's detail, the webhook body and the SNS message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal["1.0"] = Field(default="1.0", description="Version of this event's shape.")
    event_id: str = Field(description="Stable id of this event; a retried delivery carries the same id.")
    type: NotificationEventType = Field(description="What happened.")
    occurred_at: datetime = Field(description="When the execution ended.")
    execution_id: str
    task_id: str
    task_name: str | None = None
    owner_id: str
    status: ExecutionEndOn = Field(description="The execution's final status.")
    trigger_type: str | None = None
    message_count: NonNegativeInt = 0
    tool_call_count: NonNegativeInt = 0
    duration_seconds: float | None = Field(default=None, ge=0)
    cost_usd: float | None = Field(default=None, ge=0)
    error_message: str | None = None
    report_id: str | None = None
    structured_output: Any = Field(
        default=None, description="The final answer validated against the task's output_schema."
    )
    answer_excerpt: str | None = Field(
        default=None, description="The start of the agent's final answer (completed runs only)."
    )

    @classmethod
    def for_execution(
        cls,
        *,
        execution_id: str,
        task_id: str,
        owner_id: str,
        status: ExecutionEndOn,
        occurred_at: datetime,
        **details: Any,
    ) -> NotificationEvent:
        """The event for an execution that ended with `status` (type and event id derived)."""
        return cls(
            event_id=event_id_for(execution_id, status),
            type=EVENT_TYPE_BY_STATUS[status],
            execution_id=execution_id,
            task_id=task_id,
            owner_id=owner_id,
            status=status,
            occurred_at=occurred_at,
            **details,
        )

    def body(self) -> bytes:
        """The exact bytes POSTed to a webhook (and signed)."""
        return self.model_dump_json().encode("utf-8")


class TaskEvent(BaseModel):
    """A task event (approval requested, schedule paused, model retiring, budget reached) as delivered:
    the bus detail as it was put, with a stable id and its type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal["1.0"] = "1.0"
    event_id: str
    type: str = Field(description="The bus detail-type, e.g. SchedulePaused.")
    task_id: str
    owner_id: str | None = None
    execution_id: str | None = None
    detail: dict[str, Any]

    @classmethod
    def of(cls, detail_type: str, detail: dict[str, Any]) -> TaskEvent:
        return cls(
            event_id=task_event_id(detail_type, detail),
            type=detail_type,
            task_id=str(detail["task_id"]),
            owner_id=detail.get("owner_id"),
            execution_id=detail.get("execution_id"),
            detail=detail,
        )

    def body(self) -> bytes:
        return self.model_dump_json().encode("utf-8")
