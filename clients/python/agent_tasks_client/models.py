"""The API's shapes, generated from its OpenAPI document (clients/python/codegen.py); do not edit.

Answers are plain JSON objects; these TypedDicts say which keys they have and of what type.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class ApprovalConfig(TypedDict):
    """The task's `approval`: which tool calls wait for a person, how long, and what a timeout means."""

    tools: list[str]
    timeout_seconds: NotRequired[int]
    on_timeout: NotRequired[Literal["deny", "approve"]]


class ApprovalResponse(TypedDict):
    """An approval request as the API answers it."""

    id: str
    execution_id: str
    task_id: str
    owner_id: str
    tool_use_id: str
    tool: str
    input: NotRequired[Any]
    input_truncated: NotRequired[bool]
    text: NotRequired[str | None]
    status: Literal["pending", "approved", "denied", "timed_out", "cancelled"]
    requested_at: str
    expires_at: str
    timeout_seconds: int
    on_timeout: Literal["deny", "approve"]
    decided_at: NotRequired[str | None]
    decided_by: NotRequired[str | None]
    reason: NotRequired[str | None]
    _links: dict[str, str]


class AuditEvent(TypedDict):
    """AuditEvent"""

    id: str
    actor_id: str
    owner_id: str
    action: str
    resource_type: str
    resource_id: str
    changed_fields: NotRequired[list[str]]
    request_id: NotRequired[str | None]
    details: NotRequired[dict[str, Any]]
    at: str


BackfillRequest = TypedDict("BackfillRequest", {"from": "str", "to": "str"})


class BackfillResponse(TypedDict):
    """BackfillResponse"""

    task_id: str
    slots: list[str]
    execution_ids: list[str]
    already_ran: list[str]
    spacing_seconds: int
    _links: dict[str, str]


class DecisionRequest(TypedDict):
    """The body of POST /task-executions/{id}/approvals/{approval_id}."""

    decision: Literal["approve", "deny"]
    reason: NotRequired[str | None]


class Delivery(TypedDict):
    """One attempt to deliver one event to one destination, as the notifier recorded it."""

    event_id: str
    event_type: str
    destination: Literal["webhook", "slack", "sns"]
    target: str
    attempt: int
    status: Literal["delivered", "failed", "skipped"]
    status_code: NotRequired[int | None]
    error: NotRequired[str | None]
    retryable: NotRequired[bool]
    at: str


class DeliveryOutcome(TypedDict):
    """What became of one webhook delivery, for the execution record."""

    destination: NotRequired[Literal["webhook"]]
    event_id: str
    host: str
    status: Literal["delivered", "failed"]
    attempts: int
    last_status_code: NotRequired[int | None]
    last_error: NotRequired[str | None]
    retryable: NotRequired[bool]
    finished_at: str


class ErrorBody(TypedDict):
    """ErrorBody"""

    code: str
    message: str
    details: NotRequired[list[ErrorDetail]]


class ErrorDetail(TypedDict):
    """ErrorDetail"""

    loc: NotRequired[list[str | int]]
    msg: str
    type: str
    line: NotRequired[int | None]
    ctx: NotRequired[dict[str, Any] | None]


class ErrorResponse(TypedDict):
    """The shape of every error answer."""

    error: ErrorBody


class ExecuteRequest(TypedDict):
    """The body of POST /tasks/{id}/execute and /preview."""

    variables: NotRequired[dict[str, str | float | bool]]


class ExecutionResponse(TypedDict):
    """An execution as the API answers it (internal run state left out)."""

    id: str
    task_id: str
    owner_id: str
    task_name: str
    task_version: int
    task_snapshot: dict[str, Any]
    session_id: NotRequired[str | None]
    report_id: NotRequired[str | None]
    report_note: NotRequired[str | None]
    trigger_type: Literal["manual", "scheduled", "rerun"]
    trigger_metadata: NotRequired[dict[str, Any]]
    prompt_variables: NotRequired[dict[str, str | float | bool]]
    rendered_prompt: NotRequired[str | None]
    variables_missing: NotRequired[list[str]]
    status: Literal[
        "queued",
        "pending",
        "running",
        "waiting_for_approval",
        "completed",
        "failed",
        "cancelled",
        "timed_out",
        "expired",
    ]
    error_message: NotRequired[str | None]
    result_data: NotRequired[ResultData | None]
    total_messages: NotRequired[int]
    total_tool_calls: NotRequired[int]
    permission_denials: NotRequired[list[ToolCallRecord]]
    usage: NotRequired[Usage]
    cost_usd: NotRequired[float | None]
    cost_note: NotRequired[str | None]
    provider: NotRequired[Literal["anthropic", "bedrock", "scripted"] | None]
    model: NotRequired[str | None]
    model_usage: NotRequired[dict[str, ModelUsage]]
    price_table_version: NotRequired[str | None]
    duration_seconds: NotRequired[float | None]
    created_at: str
    started_at: NotRequired[str | None]
    completed_at: NotRequired[str | None]
    deadline_at: NotRequired[str | None]
    pending_approval_id: NotRequired[str | None]
    notifications: NotRequired[list[NotificationRecord]]
    expires_at: NotRequired[int | None]
    queued_until: NotRequired[str | None]
    dequeued_at: NotRequired[str | None]
    waiting_until: NotRequired[str | None]
    _links: dict[str, str]
    last_message_seq: NotRequired[int]


class GatewayError(TypedDict):
    """An answer from API Gateway itself, e.g. {"message": "Unauthorized"}."""

    message: str


class Health(TypedDict):
    """Health"""

    status: str
    environment: str
    user_id: str


class McpServerInput(TypedDict):
    """A remote MCP server reached through the Messages API's MCP connector."""

    name: str
    url: str
    authorization_token: NotRequired[str | None]


class McpServerOutput(TypedDict):
    """A remote MCP server reached through the Messages API's MCP connector."""

    name: str
    url: str


class MessageResponse(TypedDict):
    """One stored message of a session's transcript."""

    seq: int
    role: Literal["user", "assistant"]
    content: list[dict[str, Any]]
    created_at: str
    usage: NotRequired[Usage | None]
    cost_usd: NotRequired[float | None]
    model: NotRequired[str | None]
    stop_reason: NotRequired[str | None]
    approvals: NotRequired[list[dict[str, Any]] | None]


class ModelUsage(TypedDict):
    """What one model did in a run: its turns, tokens and cost (null when it has no price)."""

    turns: NotRequired[int]
    usage: NotRequired[Usage]
    cost_usd: NotRequired[float | None]


class NotificationConfig(TypedDict):
    """Where to send notifications about a task's executions, and for which outcomes."""

    on: NotRequired[
        list[
            Literal[
                "completed",
                "failed",
                "cancelled",
                "timed_out",
                "expired",
                "approval_requested",
                "schedule_paused",
                "model_retiring",
                "budget_reached",
            ]
        ]
    ]
    format: NotRequired[Literal["json", "slack"]]
    only_if: NotRequired[str | None]
    webhook_url: NotRequired[str | None]
    sns_topic_arn: NotRequired[str | None]


class NotificationRecord(TypedDict):
    """What became of one notification of the execution's end (a failure never fails the execution)."""

    destination: Literal["eventbridge", "webhook"]
    status: Literal["delivered", "failed"]
    event_id: NotRequired[str | None]
    detail: NotRequired[str | None]
    webhook: NotRequired[DeliveryOutcome | None]


class PageApprovalResponse(TypedDict):
    """Page[ApprovalResponse]"""

    items: list[ApprovalResponse]
    page: int
    page_size: int
    total: int
    total_exact: NotRequired[bool]
    next_cursor: NotRequired[str | None]
    _links: dict[str, str]


class PageAuditEvent(TypedDict):
    """Page[AuditEvent]"""

    items: list[AuditEvent]
    page: int
    page_size: int
    total: int
    total_exact: NotRequired[bool]
    next_cursor: NotRequired[str | None]
    _links: dict[str, str]


class PageDelivery(TypedDict):
    """Page[Delivery]"""

    items: list[Delivery]
    page: int
    page_size: int
    total: int
    total_exact: NotRequired[bool]
    next_cursor: NotRequired[str | None]
    _links: dict[str, str]


class PageExecutionResponse(TypedDict):
    """Page[ExecutionResponse]"""

    items: list[ExecutionResponse]
    page: int
    page_size: int
    total: int
    total_exact: NotRequired[bool]
    next_cursor: NotRequired[str | None]
    _links: dict[str, str]


class PageMessageResponse(TypedDict):
    """Page[MessageResponse]"""

    items: list[MessageResponse]
    page: int
    page_size: int
    total: int
    total_exact: NotRequired[bool]
    next_cursor: NotRequired[str | None]
    _links: dict[str, str]


class PageReportResponse(TypedDict):
    """Page[ReportResponse]"""

    items: list[ReportResponse]
    page: int
    page_size: int
    total: int
    total_exact: NotRequired[bool]
    next_cursor: NotRequired[str | None]
    _links: dict[str, str]


class PageTaskResponse(TypedDict):
    """Page[TaskResponse]"""

    items: list[TaskResponse]
    page: int
    page_size: int
    total: int
    total_exact: NotRequired[bool]
    next_cursor: NotRequired[str | None]
    _links: dict[str, str]


class PreviewResponse(TypedDict):
    """What an execution would run, without running it."""

    task_id: str
    task_version: int
    rendered_prompt: str
    variables_used: list[str]
    variables_missing: list[str]
    effective_tools: list[str]
    permission_mode: str
    model: str
    next_fire_times: NotRequired[list[str] | None]
    secrets: NotRequired[list[str]]
    secrets_missing: NotRequired[list[str]]
    approval: NotRequired[ApprovalConfig | None]
    _links: dict[str, str]


class PublicMcpServer(TypedDict):
    """An MCP server as others see it: its name (used in tool names), not where it is."""

    name: str


class PublicSdkOptions(TypedDict):
    """A task's options without endpoints: MCP servers by name only."""

    model: str
    max_turns: int
    max_tokens: int
    permission_mode: str
    system_prompt: NotRequired[str | None]
    temperature: NotRequired[float | None]
    max_budget_usd: NotRequired[float | None]
    timeout_seconds: int
    mcp_servers: list[PublicMcpServer]


class PublicTaskResponse(TypedDict):
    """Another user's public task: what it does, never where it reports to, its secrets, its schedule's state or the owner's errors (notification_config, MCP server URLs, schedule_paused_reason)."""

    view: NotRequired[Literal["public"]]
    id: str
    owner_id: str
    name: str
    description: NotRequired[str | None]
    prompt_template: str
    template_variables: list[str]
    allowed_tools: list[str]
    disallowed_tools: list[str]
    sdk_options: PublicSdkOptions
    tags: list[str]
    is_public: bool
    version: int
    created_at: str
    updated_at: str
    _links: dict[str, str]


class ReportDocument(TypedDict):
    """Everything a report of one execution shows (schema version 1.0)."""

    schema_version: NotRequired[Literal["1.0"]]
    generated_at: str
    task: ReportTask
    execution: ReportExecution
    prompt: str
    variables: NotRequired[dict[str, Any]]
    result: NotRequired[ReportResult]
    transcript: NotRequired[list[TranscriptMessage]]
    tool_calls: NotRequired[ToolCallSummary]
    usage: NotRequired[Usage]
    cost_usd: NotRequired[float | None]
    cost_note: NotRequired[str | None]
    provider: Literal["anthropic", "bedrock", "scripted"]
    model: str


class ReportExecution(TypedDict):
    """The execution the report describes."""

    id: str
    status: Literal[
        "queued",
        "pending",
        "running",
        "waiting_for_approval",
        "completed",
        "failed",
        "cancelled",
        "timed_out",
        "expired",
    ]
    trigger_type: str
    trigger_metadata: NotRequired[dict[str, Any]]
    session_id: NotRequired[str | None]
    created_at: str
    started_at: NotRequired[str | None]
    completed_at: NotRequired[str | None]
    duration_seconds: NotRequired[float | None]
    error_message: NotRequired[str | None]


class ReportResponse(TypedDict):
    """Report metadata and a short-lived download URL."""

    id: str
    task_id: str
    execution_id: str
    format: Literal["html", "pdf", "json", "markdown"]
    content_type: str
    size_bytes: int
    schema_version: str
    created_at: str
    download_url: str
    expires_at: str
    _links: dict[str, str]


class ReportResult(TypedDict):
    """What the agent answered and how its loop ended."""

    final_text: NotRequired[str | None]
    outcome: NotRequired[
        Literal["completed", "max_turns", "budget_exceeded", "cancelled", "error", "continue", "waiting"]
        | None
    ]
    structured_output: NotRequired[Any]


class ReportTask(TypedDict):
    """The task as it was when the execution ran (the execution's task snapshot)."""

    id: str
    name: str
    description: NotRequired[str | None]
    version: int


class ResultData(TypedDict):
    """ResultData"""

    final_text: NotRequired[str | None]
    outcome: NotRequired[
        Literal["completed", "max_turns", "budget_exceeded", "cancelled", "error", "continue", "waiting"]
        | None
    ]
    structured_output: NotRequired[Any]
    secrets_scrubbed: NotRequired[int]


class RunNowRequest(TypedDict):
    """The body of POST /tasks/{id}/run-now (optional)."""

    force: NotRequired[bool]


class SdkOptionsInput(TypedDict):
    """How the agent loop runs. Unknown keys are rejected, not ignored."""

    model: NotRequired[str]
    fallback_model: NotRequired[str | None]
    effort: NotRequired[Literal["low", "medium", "high", "xhigh", "max"] | None]
    max_turns: NotRequired[int]
    max_tokens: NotRequired[int]
    permission_mode: NotRequired[Literal["default", "acceptEdits", "plan", "bypassPermissions"]]
    system_prompt: NotRequired[str | None]
    temperature: NotRequired[float | None]
    max_budget_usd: NotRequired[float | None]
    timeout_seconds: NotRequired[int]
    mcp_servers: NotRequired[list[McpServerInput]]


class SdkOptionsOutput(TypedDict):
    """How the agent loop runs. Unknown keys are rejected, not ignored."""

    model: NotRequired[str]
    fallback_model: NotRequired[str | None]
    effort: NotRequired[Literal["low", "medium", "high", "xhigh", "max"] | None]
    max_turns: NotRequired[int]
    max_tokens: NotRequired[int]
    permission_mode: NotRequired[Literal["default", "acceptEdits", "plan", "bypassPermissions"]]
    system_prompt: NotRequired[str | None]
    temperature: NotRequired[float | None]
    max_budget_usd: NotRequired[float | None]
    timeout_seconds: NotRequired[int]
    mcp_servers: NotRequired[list[McpServerOutput]]


class SecretLinks(TypedDict):
    """SecretLinks"""

    self: str


class SecretList(TypedDict):
    """Every secret of the caller (at most a few hundred: one page)."""

    items: list[SecretResponse]
    total: int
    _links: dict[str, str]


class SecretPut(TypedDict):
    """The body of PUT /secrets/{name}: a new value (and description) for the secret."""

    value: str
    description: NotRequired[str | None]


class SecretResponse(TypedDict):
    """A secret as the API answers it: its name and history, never its value."""

    name: str
    description: NotRequired[str | None]
    created_at: str
    updated_at: str
    version: int
    last_used_at: NotRequired[str | None]
    last_used_by_task_id: NotRequired[str | None]
    last_used_by_execution_id: NotRequired[str | None]
    _links: SecretLinks


class SessionResponse(TypedDict):
    """SessionResponse"""

    id: str
    owner_id: str
    execution_id: str
    task_id: str
    name: str
    model: str
    model_options: NotRequired[dict[str, Any]]
    provider: NotRequired[Literal["anthropic", "bedrock", "scripted"] | None]
    message_count: NotRequired[int]
    created_at: str
    updated_at: str
    expires_at: NotRequired[int | None]
    _links: dict[str, str]


class SpendLimitsInput(TypedDict):
    """PUT /limits: the caps, each optional (null or absent: no cap). Replaces what was stored."""

    daily_usd: NotRequired[float | None]
    monthly_usd: NotRequired[float | None]
    soft_alert_usd: NotRequired[float | None]
    retention_days: NotRequired[int | None]


class SpendLimitsResponse(TypedDict):
    """SpendLimitsResponse"""

    daily_usd: NotRequired[float | None]
    monthly_usd: NotRequired[float | None]
    soft_alert_usd: NotRequired[float | None]
    retention_days: NotRequired[int | None]
    owner_id: str
    version: NotRequired[int]
    updated_at: NotRequired[str | None]
    _links: dict[str, str]


class TaskCreate(TypedDict):
    """The body of POST /tasks."""

    name: str
    description: NotRequired[str | None]
    prompt_template: str
    sdk_options: SdkOptionsInput
    allowed_tools: list[
        Literal[
            "bash",
            "read_file",
            "write_file",
            "edit_file",
            "list_files",
            "grep",
            "http_request",
            "web_search",
            "web_fetch",
            "Bash",
            "Read",
            "Write",
            "Edit",
            "Glob",
            "Grep",
            "WebFetch",
            "WebSearch",
        ]
        | str
    ]
    disallowed_tools: NotRequired[
        list[
            Literal[
                "bash",
                "read_file",
                "write_file",
                "edit_file",
                "list_files",
                "grep",
                "http_request",
                "web_search",
                "web_fetch",
                "Bash",
                "Read",
                "Write",
                "Edit",
                "Glob",
                "Grep",
                "WebFetch",
                "WebSearch",
            ]
            | str
        ]
    ]
    working_directory_path: NotRequired[str | None]
    is_scheduled: NotRequired[bool]
    schedule_timezone: NotRequired[str]
    run_at: NotRequired[str | None]
    schedule_cron: NotRequired[str | None]
    schedule_enabled: NotRequired[bool]
    overlap_policy: NotRequired[Literal["skip", "allow", "buffer_one", "cancel_other"]]
    pause_after_failures: NotRequired[int | None]
    schedule_start_at: NotRequired[str | None]
    schedule_end_at: NotRequired[str | None]
    catchup_window_seconds: NotRequired[int | None]
    jitter_seconds: NotRequired[int]
    max_runs: NotRequired[int | None]
    retention_days: NotRequired[int | None]
    max_concurrent_runs: NotRequired[int | None]
    queued_ttl_seconds: NotRequired[int]
    generate_report: NotRequired[bool]
    report_format: NotRequired[Literal["html", "pdf", "json", "markdown"] | None]
    notification_config: NotRequired[NotificationConfig | None]
    approval: NotRequired[ApprovalConfig | None]
    output_schema: NotRequired[dict[str, Any] | None]
    tags: NotRequired[list[str]]
    is_public: NotRequired[bool]
    is_active: NotRequired[bool]
    secrets: NotRequired[list[str]]


class TaskLinks(TypedDict):
    """TaskLinks"""

    self: str
    execute: str
    executions: str
    preview: str
    reports: str


class TaskResponse(TypedDict):
    """A task as the API answers it to its owner."""

    name: str
    description: NotRequired[str | None]
    prompt_template: str
    sdk_options: SdkOptionsOutput
    allowed_tools: list[
        Literal[
            "bash",
            "read_file",
            "write_file",
            "edit_file",
            "list_files",
            "grep",
            "http_request",
            "web_search",
            "web_fetch",
            "Bash",
            "Read",
            "Write",
            "Edit",
            "Glob",
            "Grep",
            "WebFetch",
            "WebSearch",
        ]
        | str
    ]
    disallowed_tools: NotRequired[
        list[
            Literal[
                "bash",
                "read_file",
                "write_file",
                "edit_file",
                "list_files",
                "grep",
                "http_request",
                "web_search",
                "web_fetch",
                "Bash",
                "Read",
                "Write",
                "Edit",
                "Glob",
                "Grep",
                "WebFetch",
                "WebSearch",
            ]
            | str
        ]
    ]
    working_directory_path: NotRequired[str | None]
    is_scheduled: NotRequired[bool]
    schedule_timezone: NotRequired[str]
    run_at: NotRequired[str | None]
    schedule_cron: NotRequired[str | None]
    schedule_enabled: NotRequired[bool]
    overlap_policy: NotRequired[Literal["skip", "allow", "buffer_one", "cancel_other"]]
    pause_after_failures: NotRequired[int | None]
    schedule_start_at: NotRequired[str | None]
    schedule_end_at: NotRequired[str | None]
    catchup_window_seconds: NotRequired[int | None]
    jitter_seconds: NotRequired[int]
    max_runs: NotRequired[int | None]
    retention_days: NotRequired[int | None]
    max_concurrent_runs: NotRequired[int | None]
    queued_ttl_seconds: NotRequired[int]
    generate_report: NotRequired[bool]
    report_format: NotRequired[Literal["html", "pdf", "json", "markdown"] | None]
    notification_config: NotRequired[NotificationConfig | None]
    approval: NotRequired[ApprovalConfig | None]
    output_schema: NotRequired[dict[str, Any] | None]
    tags: NotRequired[list[str]]
    is_public: NotRequired[bool]
    is_active: NotRequired[bool]
    secrets: NotRequired[list[str]]
    view: NotRequired[Literal["owner"]]
    id: str
    owner_id: str
    version: int
    created_at: str
    updated_at: str
    template_variables: list[str]
    next_run_at: NotRequired[str | None]
    schedule_description: NotRequired[str | None]
    schedule_paused_reason: NotRequired[str | None]
    webhook_secret: NotRequired[str | None]
    warnings: NotRequired[list[str]]
    _links: TaskLinks


class TaskUpdate(TypedDict):
    """The body of PATCH /tasks/{id}: any subset of the fields; null clears an optional one."""

    name: NotRequired[str]
    description: NotRequired[str | None]
    prompt_template: NotRequired[str]
    allowed_tools: NotRequired[
        list[
            Literal[
                "bash",
                "read_file",
                "write_file",
                "edit_file",
                "list_files",
                "grep",
                "http_request",
                "web_search",
                "web_fetch",
                "Bash",
                "Read",
                "Write",
                "Edit",
                "Glob",
                "Grep",
                "WebFetch",
                "WebSearch",
            ]
            | str
        ]
    ]
    disallowed_tools: NotRequired[
        list[
            Literal[
                "bash",
                "read_file",
                "write_file",
                "edit_file",
                "list_files",
                "grep",
                "http_request",
                "web_search",
                "web_fetch",
                "Bash",
                "Read",
                "Write",
                "Edit",
                "Glob",
                "Grep",
                "WebFetch",
                "WebSearch",
            ]
            | str
        ]
    ]
    sdk_options: NotRequired[SdkOptionsInput]
    working_directory_path: NotRequired[str | None]
    is_scheduled: NotRequired[bool]
    schedule_timezone: NotRequired[str]
    run_at: NotRequired[str | None]
    schedule_cron: NotRequired[str | None]
    schedule_enabled: NotRequired[bool]
    overlap_policy: NotRequired[Literal["skip", "allow", "buffer_one", "cancel_other"]]
    pause_after_failures: NotRequired[int | None]
    schedule_start_at: NotRequired[str | None]
    schedule_end_at: NotRequired[str | None]
    catchup_window_seconds: NotRequired[int | None]
    jitter_seconds: NotRequired[int]
    max_runs: NotRequired[int | None]
    retention_days: NotRequired[int | None]
    max_concurrent_runs: NotRequired[int | None]
    queued_ttl_seconds: NotRequired[int]
    generate_report: NotRequired[bool]
    report_format: NotRequired[Literal["html", "pdf", "json", "markdown"] | None]
    notification_config: NotRequired[NotificationConfig | None]
    approval: NotRequired[ApprovalConfig | None]
    output_schema: NotRequired[dict[str, Any] | None]
    tags: NotRequired[list[str]]
    is_public: NotRequired[bool]
    is_active: NotRequired[bool]
    secrets: NotRequired[list[str]]


class TaskUsage(TypedDict):
    """TaskUsage"""

    cost_usd: NotRequired[float]
    model_calls: NotRequired[int]
    input_tokens: NotRequired[int]
    output_tokens: NotRequired[int]
    task_id: str


class ToolCallRecord(TypedDict):
    """One tool call the model asked for, and what became of it."""

    tool_use_id: str
    name: str
    is_error: NotRequired[bool]
    permission_denied: NotRequired[bool]
    duration_ms: NotRequired[int]
    turn: NotRequired[int]


class ToolCallSummary(TypedDict):
    """Tool use over the whole execution."""

    total: NotRequired[int]
    by_name: NotRequired[dict[str, int]]
    errors: NotRequired[int]
    permission_denials: NotRequired[list[ToolCallRecord]]


class TranscriptMessage(TypedDict):
    """One message of a session, in order (`seq` starts at 1)."""

    seq: int
    role: Literal["user", "assistant"]
    content: list[dict[str, Any]]
    created_at: str
    usage: NotRequired[Usage | None]
    cost_usd: NotRequired[float | None]
    model: NotRequired[str | None]
    stop_reason: NotRequired[str | None]
    approvals: NotRequired[list[dict[str, Any]] | None]


class Usage(TypedDict):
    """Token counts as the Messages API reports them."""

    input_tokens: NotRequired[int]
    output_tokens: NotRequired[int]
    cache_read_input_tokens: NotRequired[int]
    cache_creation_input_tokens: NotRequired[int]
    cache_creation_1h_input_tokens: NotRequired[int]


class UsageFigures(TypedDict):
    """Spend and model calls in a period (for the user, or one of their tasks)."""

    cost_usd: NotRequired[float]
    model_calls: NotRequired[int]
    input_tokens: NotRequired[int]
    output_tokens: NotRequired[int]


class UsageResponse(TypedDict):
    """GET /usage: the caller's spend in the current UTC day or month, in total and per task."""

    period: Literal["day", "month"]
    period_key: str
    starts_at: str
    resets_at: str
    cap_usd: float | None
    soft_alert_usd: NotRequired[float | None]
    total: UsageFigures
    tasks: list[TaskUsage]
    _links: dict[str, str]


ROUTES = (
    "/api/v1/audit-events",
    "/api/v1/health",
    "/api/v1/limits",
    "/api/v1/reports/{report_id}",
    "/api/v1/secrets",
    "/api/v1/secrets/{name}",
    "/api/v1/sessions/{session_id}",
    "/api/v1/sessions/{session_id}/messages",
    "/api/v1/task-executions/{execution_id}",
    "/api/v1/task-executions/{execution_id}/approvals",
    "/api/v1/task-executions/{execution_id}/approvals/{approval_id}",
    "/api/v1/task-executions/{execution_id}/cancel",
    "/api/v1/task-executions/{execution_id}/deliveries",
    "/api/v1/task-executions/{execution_id}/rerun",
    "/api/v1/tasks",
    "/api/v1/tasks/{task_id}",
    "/api/v1/tasks/{task_id}/backfill",
    "/api/v1/tasks/{task_id}/execute",
    "/api/v1/tasks/{task_id}/executions",
    "/api/v1/tasks/{task_id}/preview",
    "/api/v1/tasks/{task_id}/reports",
    "/api/v1/tasks/{task_id}/restore",
    "/api/v1/tasks/{task_id}/run-now",
    "/api/v1/tasks/{task_id}/webhook-secret/rotate",
    "/api/v1/usage",
)
