"""The events the non-HTTP functions receive, one pydantic model each (parsed with Powertools'
`event_parser`): the state machine's step events, and the EventBridge events of the scheduler
and the reconciler. A malformed event fails its invocation with the field that is wrong."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

StepName = Literal[
    "begin_slot",
    "await_turn",
    "check_turn",
    "prepare",
    "run_agent",
    "await_approval",
    "approval_timed_out",
    "finalize",
    "mark_failed",
]
# The names the Literal allows, for the error message (one list, not two to keep in step).
STEP_NAMES: tuple[str, ...] = get_args(StepName)


class StepEvent(BaseModel):
    """The executor's event: {"step", "execution_id", "error"?, "state"?} from the state machine."""

    model_config = ConfigDict(extra="ignore")

    step: StepName
    execution_id: str = Field(min_length=1, max_length=128)
    error: dict[str, Any] | None = None  # MarkFailed: Step Functions' {"Error", "Cause"}
    state: dict[str, Any] | None = None  # Finalize: what the earlier states left (report_error)
    # await_approval / approval_timed_out: the request waited on, and (await_approval, await_turn) the
    # workflow's task token (kept on the request or the queued run; never logged, never answered)
    approval_id: str | None = Field(default=None, max_length=64)
    task_token: str | None = Field(default=None, max_length=2048, repr=False)

    @field_validator("step", mode="before")
    @classmethod
    def _known_step(cls, value: Any) -> Any:
        if value not in STEP_NAMES:
            raise ValueError(f"unknown step {value!r}; the steps are {', '.join(STEP_NAMES)}")
        return value


class ReportEvent(BaseModel):
    """The reporter's event: {"execution_id"} from the Report state."""

    model_config = ConfigDict(extra="ignore")

    execution_id: str = Field(min_length=1, max_length=128)


class ScheduledEvent(BaseModel):
    """The EventBridge Scheduled Event that fires the scheduler (`time`, the rule in `resources[0]`);
    only what the tick reads is required (an event may come without `account`, as moto's do)."""

    model_config = ConfigDict(extra="ignore")

    time: AwareDatetime
    resources: list[str] = Field(min_length=1)

    @property
    def rule_name(self) -> str:
        # arn:aws:events:<region>:<account>:rule/[<bus>/]<name>
        return self.resources[0].rsplit("/", 1)[-1]


class WorkflowStatusDetail(BaseModel):
    """The part of a "Step Functions Execution Status Change" event the reconciler reads."""

    model_config = ConfigDict(extra="ignore")

    status: str = ""
    name: str | None = None
    executionArn: str | None = None  # AWS spells it so
    error: str | None = None
    cause: str | None = None


class WorkflowStatusEvent(BaseModel):
    """A "Step Functions Execution Status Change" event; only its `detail` is read."""

    model_config = ConfigDict(extra="ignore")

    detail: WorkflowStatusDetail


class BusEvent(BaseModel):
    """The notifier's event: one event of the service's bus (an execution's end or a task event), as
    the rule delivers it: `detail-type` and `detail` are what the notifier reads."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = ""
    source: str
    detail_type: str = Field(alias="detail-type", min_length=1, max_length=128)
    detail: dict[str, Any]
