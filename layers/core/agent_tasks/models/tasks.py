"""A task definition: what a user sends, what is stored, what the API answers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from agent_tasks.agent import catalog
from agent_tasks.models.approvals import ApprovalConfig
from agent_tasks.models.common import (
    API_BASE,
    OverlapPolicy,
    ReportFormat,
    assembled,
    utc_now,
    utf8_at_most,
)
from agent_tasks.models.notifications import NotificationConfig
from agent_tasks.models.sdk_options import SdkOptions
from agent_tasks.models.secrets import MAX_SECRETS_PER_TASK, SecretName

# Byte limits keep every item and key within DynamoDB's: the name lock's sort key is the folded name.
MAX_NAME_BYTES = 512
MAX_DESCRIPTION_BYTES = 10_000
MAX_TEMPLATE_BYTES = 100_000
TaskName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    utf8_at_most(MAX_NAME_BYTES, folded=True),
]
Description = Annotated[str | None, Field(max_length=10_000), utf8_at_most(MAX_DESCRIPTION_BYTES)]
PromptTemplate = Annotated[str, Field(min_length=1, max_length=100_000), utf8_at_most(MAX_TEMPLATE_BYTES)]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w.:/@+-]+$")
]
ToolName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "enum": catalog.known_tool_names()},
                {
                    "type": "string",
                    "pattern": r"^mcp__[A-Za-z0-9_-]+(__[A-Za-z0-9_-]+)?$",
                    "maxLength": 128,
                    "description": "A tool of an MCP server named in sdk_options.mcp_servers.",
                },
            ]
        }
    ),
]
_SAFE_RELATIVE_PATH = re.compile(r"^(?!/)(?!.*(^|/)\.\.(/|$))[\w./-]{1,255}$")
MAX_OUTPUT_SCHEMA_BYTES = 16 * 1024
MAX_CONCURRENT_RUNS = 1000  # a task's run slots are one item's string set (store/concurrency.py)
DEFAULT_QUEUED_TTL_SECONDS = 3600
MAX_QUEUED_TTL_SECONDS = 86_400


def _check_output_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    if schema is None:
        return None
    import json

    size = len(json.dumps(schema, separators=(",", ":")).encode())
    if size > MAX_OUTPUT_SCHEMA_BYTES:
        raise ValueError(f"the schema is {size} bytes; at most {MAX_OUTPUT_SCHEMA_BYTES} are allowed")
    from agent_tasks.agent.structured import schema_problem

    problem = schema_problem(schema)
    if problem is not None:
        raise ValueError(f"not a valid JSON Schema: {problem}")
    return schema


def _check_tools(tools: list[str], mcp_servers: set[str]) -> None:
    unknown = []
    for name in tools:
        server = catalog.mcp_server_of(name)
        if server is not None:
            if server not in mcp_servers:
                raise ValueError(f"{name!r} names MCP server {server!r}, which sdk_options.mcp_servers lacks")
        elif catalog.canonical_name(name) is None:
            unknown.append(name)
    if unknown:
        raise ValueError(
            f"unknown tool(s) {', '.join(repr(u) for u in unknown)}; known tools are "
            f"{', '.join(catalog.known_tool_names())} and mcp__<server>__<tool> for a configured MCP server"
        )


class TaskFields(BaseModel):
    """The fields a user may set; shared by create and by the stored definition."""

    # Built on first use (issue 23): only a PATCH validates TaskFields itself; TaskCreate and
    # TaskResponse, which a cold start's create and get need, are built at import (each builds its own).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, defer_build=True)

    name: TaskName
    description: Description = None
    prompt_template: PromptTemplate
    # sdk_options comes before the tool lists: their validation needs its MCP servers.
    sdk_options: SdkOptions
    allowed_tools: Annotated[list[ToolName], Field(max_length=64)]
    disallowed_tools: Annotated[list[ToolName], Field(max_length=64)] = Field(default_factory=list)
    working_directory_path: Annotated[
        str | None, Field(description="A relative path inside the session's working directory.")
    ] = None
    is_scheduled: bool = False
    schedule_timezone: Annotated[str, Field(max_length=64, description="IANA time zone name.")] = "UTC"
    # run_at comes after the zone (a local time is read in it) and before the cron (they exclude each other).
    run_at: Annotated[
        datetime | None,
        Field(
            description="A one-time schedule: runs once at this instant (with an offset), or at this local "
            "date-time (without one) in schedule_timezone; then the schedule disables itself. Must be in "
            "the future when set; excludes schedule_cron."
        ),
    ] = None
    schedule_cron: Annotated[
        str | None, Field(max_length=128, validate_default=True, description="Five-field Unix cron.")
    ] = None
    schedule_enabled: bool = True
    overlap_policy: OverlapPolicy = "skip"
    pause_after_failures: Annotated[int | None, Field(ge=1, le=100)] = None
    schedule_start_at: Annotated[
        AwareDatetime | None, Field(description="The schedule fires at no time before this.")
    ] = None
    schedule_end_at: Annotated[
        AwareDatetime | None,
        Field(
            description="The schedule fires at no time after this, and disables itself after its last run."
        ),
    ] = None
    catchup_window_seconds: Annotated[
        int | None,
        Field(
            ge=60, le=2_678_400, description="A missed slot older than this is skipped (recorded), not run."
        ),
    ] = None
    jitter_seconds: Annotated[
        int,
        Field(
            ge=0,
            le=3600,
            description="Start each slot up to this late, at an offset fixed per task and slot.",
        ),
    ] = 0
    max_runs: Annotated[
        int | None,
        Field(ge=1, le=1_000_000, description="The schedule disables itself after this many scheduled runs."),
    ] = None
    retention_days: Annotated[
        int | None,
        Field(ge=1, le=400, description="Days its executions are kept (default: the owner's, else 90)."),
    ] = None
    max_concurrent_runs: Annotated[
        int | None,
        Field(
            ge=1,
            le=MAX_CONCURRENT_RUNS,
            description="At most this many of its executions run at once; more are queued (null: no limit).",
        ),
    ] = None
    queued_ttl_seconds: Annotated[
        int,
        Field(
            ge=60,
            le=MAX_QUEUED_TTL_SECONDS,
            description="A queued execution not started within this many seconds ends `expired`.",
        ),
    ] = DEFAULT_QUEUED_TTL_SECONDS
    generate_report: bool = False
    report_format: Annotated[ReportFormat | None, Field(validate_default=True)] = None
    notification_config: NotificationConfig | None = None
    approval: ApprovalConfig | None = Field(
        default=None,
        description="Tool calls that wait for a person's approval before they run (unattended runs pause "
        "at no compute cost; see /task-executions/{id}/approvals).",
    )
    output_schema: dict[str, Any] | None = Field(
        default=None, description="A JSON Schema the final answer must match (at most 16 KB)."
    )
    tags: Annotated[list[Tag], Field(max_length=50)] = Field(default_factory=list)
    is_public: bool = False
    is_active: bool = True
    secrets: Annotated[
        list[SecretName],
        Field(
            max_length=MAX_SECRETS_PER_TASK,
            description="Names of your secrets the run's tools get (bash: environment variables; "
            "http_request: {{ secret.NAME }} in headers and the query). Values never reach the model.",
        ),
    ] = Field(default_factory=list)

    @field_validator("output_schema")
    @classmethod
    def _output_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _check_output_schema(value)

    @field_validator("allowed_tools", "disallowed_tools")
    @classmethod
    def _known_tools(cls, tools: list[str], info: ValidationInfo) -> list[str]:
        options = info.data.get("sdk_options")
        servers = (
            {server.name for server in options.mcp_servers} if isinstance(options, SdkOptions) else set()
        )
        _check_tools(tools, servers)
        if info.field_name == "disallowed_tools":
            allowed = {catalog.canonical_name(t) or t for t in info.data.get("allowed_tools") or []}
            both = sorted(allowed & {catalog.canonical_name(t) or t for t in tools})
            if both:
                raise ValueError(f"tool(s) both allowed and disallowed: {', '.join(both)}")
        return list(dict.fromkeys(tools))

    @field_validator("report_format")
    @classmethod
    def _report_format_when_reporting(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("generate_report") and value is None:
            raise ValueError(
                "report_format is required when generate_report is true (html, pdf, json or markdown)"
            )
        return value

    @field_validator("prompt_template")
    @classmethod
    def _template_is_valid(cls, value: str) -> str:
        from agent_tasks.templates import TemplateError, validate_template

        if not value.strip():
            raise ValueError("the prompt template is empty")
        try:
            validate_template(value)
        except TemplateError as exc:
            raise ValueError(exc.message) from exc
        return value

    @field_validator("working_directory_path")
    @classmethod
    def _relative_path(cls, value: str | None) -> str | None:
        if value is not None and not _SAFE_RELATIVE_PATH.match(value):
            raise ValueError("must be a relative path inside the working directory (no '..', no leading '/')")
        return value

    @field_validator("run_at")
    @classmethod
    def _run_at(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is None:
            return None
        from agent_tasks.schedules.one_time import resolve_run_at

        # A naive time is local to schedule_timezone (a zone that failed its check: taken as UTC here,
        # the zone's own error is what the caller sees).
        return resolve_run_at(value, info.data.get("schedule_timezone", "UTC"))

    @field_validator("schedule_cron")
    @classmethod
    def _cron(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("is_scheduled") and "run_at" in info.data and info.data["run_at"] is None:
                raise ValueError(
                    "schedule_cron (or run_at, for one run) is required when is_scheduled is true"
                )
            return None
        if info.data.get("run_at") is not None:
            raise ValueError(
                "schedule_cron and run_at exclude each other: give a cron expression for a repeating "
                "schedule or run_at for one run (set the other to null)"
            )
        from agent_tasks.schedules import validate_cron

        return validate_cron(value)

    @field_validator("schedule_end_at")
    @classmethod
    def _end_after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("schedule_start_at")
        if value is not None and start is not None and value <= start:
            raise ValueError("schedule_end_at must be after schedule_start_at")
        return value

    @field_validator("schedule_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from agent_tasks.schedules import validate_timezone

        return validate_timezone(value)

    @field_validator("tags", "secrets")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(values))


class TaskCreate(TaskFields):
    """The body of POST /tasks."""

    model_config = ConfigDict(defer_build=False)


_NOT_NULLABLE = (  # PATCH refuses null for these (they have no "unset" state)
    "name",
    "prompt_template",
    "allowed_tools",
    "disallowed_tools",
    "sdk_options",
    "is_scheduled",
    "schedule_timezone",
    "schedule_enabled",
    "overlap_policy",
    "jitter_seconds",
    "queued_ttl_seconds",
    "generate_report",
    "tags",
    "is_public",
    "is_active",
    "secrets",
)


def _not_nullable_in_schema(schema: dict[str, Any]) -> None:
    """The document says what the server takes: fields that refuse null are not nullable there."""
    for name in _NOT_NULLABLE:
        field = schema["properties"][name]
        field.pop("default", None)  # absent means unchanged; null is refused
        options = [option for option in field.pop("anyOf", []) if option.get("type") != "null"]
        if len(options) == 1:
            field.update(options[0])
        elif options:
            field["anyOf"] = options


class TaskUpdate(BaseModel):
    """The body of PATCH /tasks/{id}: any subset of the fields; null clears an optional one."""

    # Built on first use (defer_build): a cold start that only creates and reads tasks never needs it.
    model_config = ConfigDict(extra="forbid", json_schema_extra=_not_nullable_in_schema, defer_build=True)

    name: TaskName | None = None
    description: Description = None
    prompt_template: PromptTemplate | None = None
    allowed_tools: Annotated[list[ToolName] | None, Field(max_length=64)] = None
    disallowed_tools: Annotated[list[ToolName] | None, Field(max_length=64)] = None
    sdk_options: SdkOptions | None = None
    working_directory_path: str | None = None
    is_scheduled: bool | None = None
    schedule_timezone: Annotated[str | None, Field(max_length=64)] = None
    run_at: datetime | None = None
    schedule_cron: Annotated[str | None, Field(max_length=128)] = None
    schedule_enabled: bool | None = None
    overlap_policy: OverlapPolicy | None = None
    pause_after_failures: Annotated[int | None, Field(ge=1, le=100)] = None
    schedule_start_at: AwareDatetime | None = None
    schedule_end_at: AwareDatetime | None = None
    catchup_window_seconds: Annotated[int | None, Field(ge=60, le=2_678_400)] = None
    jitter_seconds: Annotated[int | None, Field(ge=0, le=3600)] = None
    max_runs: Annotated[int | None, Field(ge=1, le=1_000_000)] = None
    retention_days: Annotated[int | None, Field(ge=1, le=400)] = None
    max_concurrent_runs: Annotated[int | None, Field(ge=1, le=MAX_CONCURRENT_RUNS)] = None
    queued_ttl_seconds: Annotated[int | None, Field(ge=60, le=MAX_QUEUED_TTL_SECONDS)] = None
    generate_report: bool | None = None
    report_format: ReportFormat | None = None
    notification_config: NotificationConfig | None = None
    approval: ApprovalConfig | None = None
    output_schema: dict[str, Any] | None = None
    tags: Annotated[list[Tag] | None, Field(max_length=50)] = None
    is_public: bool | None = None
    is_active: bool | None = None
    secrets: Annotated[list[SecretName] | None, Field(max_length=MAX_SECRETS_PER_TASK)] = None

    @model_validator(mode="after")
    def _no_null_for_required(self) -> Self:
        for name in _NOT_NULLABLE:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        if not self.model_fields_set:
            raise ValueError("the update is empty: give at least one field")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the caller set, as they would be stored (secrets included)."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class PendingSlot(BaseModel):
    """A schedule slot a scheduler tick has claimed (advanced past) but not yet finished.

    It keeps the task in the due index until the tick that claimed it, or a later one after a
    crash, has written and started the slot's execution (see services/scheduler.py).
    """

    model_config = ConfigDict(extra="ignore")

    slot: datetime
    claimed_at: datetime
    rule: str | None = None
    skipped_missed_slots: int = 0
    # Claimed ahead of its time (the schedule lookahead): when its run is to begin (slot plus jitter).
    # A start made before then waits in the workflow until it (services/slot_time.py).
    begins_at: datetime | None = None


class Task(BaseModel):
    """A stored task definition, as the store loads it: what was stored, not judged again.

    Input models (TaskCreate, TaskUpdate via TaskFields) validate; this record only gives the stored
    fields their types, so a rule tightened tomorrow never turns a task stored today into a 500.
    Nested shapes are loaded with the `stored` validation context, which their validators honour.
    Derived values (`template_variables`) are computed when the task is written.
    """

    model_config = ConfigDict(extra="ignore")

    # The fields of TaskFields, without their constraints and validators (a test keeps the lists equal).
    name: str
    description: str | None = None
    prompt_template: str
    sdk_options: SdkOptions
    allowed_tools: list[str]
    disallowed_tools: list[str] = Field(default_factory=list)
    working_directory_path: str | None = None
    is_scheduled: bool = False
    schedule_timezone: str = "UTC"
    run_at: datetime | None = None
    schedule_cron: str | None = None
    schedule_enabled: bool = True
    overlap_policy: OverlapPolicy = "skip"
    pause_after_failures: int | None = None
    generate_report: bool = False
    report_format: ReportFormat | None = None
    notification_config: NotificationConfig | None = None
    approval: ApprovalConfig | None = None
    tags: list[str] = Field(default_factory=list)
    is_public: bool = False
    is_active: bool = True
    output_schema: dict[str, Any] | None = None
    schedule_start_at: datetime | None = None
    schedule_end_at: datetime | None = None
    catchup_window_seconds: int | None = None
    jitter_seconds: int = 0
    max_runs: int | None = None
    retention_days: int | None = None
    max_concurrent_runs: int | None = None
    queued_ttl_seconds: int = DEFAULT_QUEUED_TTL_SECONDS
    secrets: list[str] = Field(default_factory=list)

    id: str
    owner_id: str
    version: int
    created_at: datetime
    updated_at: datetime
    # The template's variables, worked out when the task was written (None only on items stored before).
    template_variables: list[str] | None = None
    is_deleted: bool = False
    deleted_at: datetime | None = None
    next_run_at: datetime | None = None
    schedule_paused_reason: str | None = None
    consecutive_failures: int = 0
    scheduled_runs: int = 0  # slots the scheduler started, for max_runs
    pending_slot: PendingSlot | None = None
    webhook_secret: str | None = Field(default=None, exclude=True, repr=False)
    # Set (never stored) when this version made a new webhook secret: its answer shows it, once.
    _new_webhook_secret: bool = PrivateAttr(default=False)

    @property
    def webhook_secret_is_new(self) -> bool:
        return self._new_webhook_secret

    def with_new_webhook_secret(self) -> Task:
        self._new_webhook_secret = True
        return self

    @property
    def is_due_indexed(self) -> bool:
        """Whether the task belongs in the due-schedule index."""
        return self.is_scheduled and self.schedule_enabled and self.is_active and not self.is_deleted

    @property
    def is_one_time(self) -> bool:
        """A one-time schedule (`run_at`, no cron): one slot, then the schedule disables itself."""
        return self.run_at is not None and not self.schedule_cron

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    def variables(self) -> list[str]:
        """The template's variables: as stored, or (older items) worked out now, [] if it cannot be."""
        if self.template_variables is not None:
            return self.template_variables
        from agent_tasks.templates import TemplateError, validate_template

        try:
            return validate_template(self.prompt_template)
        except TemplateError:
            return []


@dataclass(frozen=True)
class TaskFilters:
    """What GET /tasks filters by; every filter must hold."""

    tags: tuple[str, ...] = ()
    is_scheduled: bool | None = None
    is_active: bool | None = None
    q: str | None = None

    def matches(self, task: Task) -> bool:
        if self.tags and not set(self.tags) <= set(task.tags):
            return False
        if self.is_scheduled is not None and task.is_scheduled != self.is_scheduled:
            return False
        if self.is_active is not None and task.is_active != self.is_active:
            return False
        return not (self.q and self.q.casefold() not in task.name.casefold())

    def facets(self) -> list[str]:
        """The indexed facets these filters ask for (store/tasks.py keeps a list per facet)."""
        facets = [tag_facet(tag) for tag in self.tags]
        if self.is_scheduled is not None:
            facets.append(flag_facet("scheduled", self.is_scheduled))
        if self.is_active is not None:
            facets.append(flag_facet("active", self.is_active))
        return facets

    def as_query(self) -> dict[str, Any]:
        return {
            "tags": ",".join(self.tags) or None,
            "is_scheduled": None if self.is_scheduled is None else str(self.is_scheduled).lower(),
            "is_active": None if self.is_active is None else str(self.is_active).lower(),
            "q": self.q,
        }


def tag_facet(tag: str) -> str:
    return f"tag={tag}"


def flag_facet(name: str, value: bool) -> str:
    return f"{name}={str(value).lower()}"


def facets_of(task: Task) -> set[str]:
    """The facets a stored task is listed under: none once deleted; `all` is counted, not indexed."""
    if task.is_deleted:
        return set()
    return {
        "all",
        flag_facet("active", task.is_active),
        flag_facet("scheduled", task.is_scheduled),
        *(tag_facet(tag) for tag in task.tags),
    }


def model_warnings(options: SdkOptions) -> list[str]:
    """The catalogue's warnings about the task's models (deprecated, retiring within 30 days, retired)."""
    from agent_tasks.agent import model_catalog

    models = [options.model, *([options.fallback_model] if options.fallback_model else [])]
    return model_catalog.lifecycle_warnings(models, model_catalog.current(), utc_now())


_TASK_FIELD_NAMES = tuple(TaskFields.model_fields)
_DEFAULTED = frozenset({"view"})  # left to its default, so not among the fields set


class TaskLinks(BaseModel):
    self_: str = Field(alias="self")
    execute: str
    executions: str
    preview: str
    reports: str

    model_config = ConfigDict(populate_by_name=True)


class TaskResponse(TaskFields):
    """A task as the API answers it to its owner."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=False)

    view: Literal["owner"] = Field(default="owner", description="The owner's full view of the task.")
    id: str
    owner_id: str
    version: int
    created_at: datetime
    updated_at: datetime
    template_variables: list[str] = Field(description="The variables the prompt template uses.")
    next_run_at: datetime | None = None
    schedule_description: str | None = Field(default=None, description="The cron expression in words.")
    schedule_paused_reason: str | None = None
    webhook_secret: str | None = Field(
        default=None,
        description="The webhook signing secret: present only in the answer that created it (create, the "
        "PATCH that adds the first webhook_url, or webhook-secret/rotate).",
    )
    warnings: list[str] = Field(
        default_factory=list, description="E.g. the task's model is deprecated or retires soon."
    )
    links: TaskLinks = Field(alias="_links")

    @classmethod
    def of(cls, task: Task, *, reveal_webhook_secret: bool = False) -> TaskResponse:
        base = f"{API_BASE}/tasks/{task.id}"
        description = None
        if task.is_one_time and task.run_at is not None:
            description = f"Once, at {task.run_at.isoformat()}"
        elif task.schedule_cron:
            from agent_tasks.schedules import describe_cron

            try:
                description = describe_cron(task.schedule_cron)
            except ValueError:  # stored under older rules: answered as stored, without words
                description = None
        # The stored task is already valid: build the answer without validating it all again.
        stored = task.__dict__
        values = {name: stored[name] for name in _TASK_FIELD_NAMES}
        values.update(
            view="owner",
            id=task.id,
            owner_id=task.owner_id,
            version=task.version,
            created_at=task.created_at,
            updated_at=task.updated_at,
            template_variables=task.variables(),
            next_run_at=task.next_run_at,
            schedule_description=description,
            schedule_paused_reason=task.schedule_paused_reason,
            webhook_secret=task.webhook_secret if reveal_webhook_secret else None,
            warnings=model_warnings(task.sdk_options),
            links=assembled(
                TaskLinks,
                {
                    "self_": base,
                    "execute": f"{base}/execute",
                    "executions": f"{base}/executions",
                    "preview": f"{base}/preview",
                    "reports": f"{base}/reports",
                },
            ),
        )
        return assembled(cls, values, defaulted=_DEFAULTED)


class PublicMcpServer(BaseModel):
    """An MCP server as others see it: its name (used in tool names), not where it is."""

    model_config = ConfigDict(defer_build=True)  # as PublicTaskResponse

    name: str


class PublicSdkOptions(BaseModel):
    """A task's options without endpoints: MCP servers by name only."""

    model_config = ConfigDict(defer_build=True)  # as PublicTaskResponse

    model: str
    max_turns: int
    max_tokens: int
    permission_mode: str
    system_prompt: str | None = None
    temperature: float | None = None
    max_budget_usd: float | None = None
    timeout_seconds: int
    mcp_servers: list[PublicMcpServer]


# What another user's public task shows as stored (the rest of PublicTaskResponse is derived).
_PUBLIC_TASK_FIELDS = (
    "id",
    "owner_id",
    "name",
    "description",
    "prompt_template",
    "allowed_tools",
    "disallowed_tools",
    "tags",
    "is_public",
    "version",
    "created_at",
    "updated_at",
)


class PublicTaskResponse(BaseModel):
    """Another user's public task: what it does, never where it reports to, its secrets, its schedule's
    state or the owner's errors (notification_config, MCP server URLs, schedule_paused_reason)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)  # built on first use

    view: Literal["public"] = Field(default="public", description="The reduced view others get.")
    id: str
    owner_id: str
    name: str
    description: str | None = None
    prompt_template: str
    template_variables: list[str]
    allowed_tools: list[str]
    disallowed_tools: list[str]
    sdk_options: PublicSdkOptions
    tags: list[str]
    is_public: bool
    version: int
    created_at: datetime
    updated_at: datetime
    links: dict[str, str] = Field(alias="_links", description="`self` only: others cannot run or list it.")

    @classmethod
    def of(cls, task: Task) -> PublicTaskResponse:
        from agent_tasks.templates import validate_template

        options = task.sdk_options.model_dump(exclude={"mcp_servers"})
        mcp_servers = [PublicMcpServer(name=server.name) for server in task.sdk_options.mcp_servers]
        return cls(
            **{name: getattr(task, name) for name in _PUBLIC_TASK_FIELDS},
            template_variables=validate_template(task.prompt_template),
            sdk_options=PublicSdkOptions(**options, mcp_servers=mcp_servers),
            links={"self": f"{API_BASE}/tasks/{task.id}"},
        )
