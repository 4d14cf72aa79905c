"""`AgentTasks`: a typed client for every route of the Agent Tasks API, over httpx2.

Answers are the API's JSON, typed by the TypedDicts in `models` (generated from the OpenAPI
document). Error answers raise `errors.APIError` subclasses; 429, 5xx and connection failures are
retried with exponential backoff and jitter (tenacity), honouring `Retry-After`; lists can be
walked with the `iter_*` methods, which follow `next_cursor`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import httpx2 as httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from agent_tasks_client import models
from agent_tasks_client.errors import APIError, TransportError, error_for

API_PREFIX = "/api/v1"
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "timed_out", "expired"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
MAX_RETRY_AFTER_SECONDS = 30.0
DEFAULT_FOLLOW_WAIT_SECONDS = 10
PENDING_PAUSE_SECONDS = 0.5
ExecutionStatus = Literal[
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


def api_base(url: str) -> str:
    """The API's base URL from what a user gives: the host (`http://localhost:8000`) or the base itself."""
    url = url.rstrip("/")
    return url if url.endswith(API_PREFIX) else url + API_PREFIX


def _etag(version: int | str | None) -> str | None:
    if version is None:
        return None
    text = str(version)
    return text if text.startswith(('"', "W/")) else f'"{text}"'


def _params(**values: Any) -> dict[str, Any]:
    """Query parameters without the unset ones; booleans as the API spells them."""
    return {
        key: (str(value).lower() if isinstance(value, bool) else value)
        for key, value in values.items()
        if value is not None
    }


class _Backoff:
    """Waits `Retry-After` when the API says it (capped), else exponential backoff with jitter."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._exponential = wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial)

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, APIError) and error.retry_after is not None:
            return min(error.retry_after, MAX_RETRY_AFTER_SECONDS)
        return float(self._exponential(state))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


@dataclass
class Progress:
    """One step of following an execution: its latest state and the messages new since the last step."""

    execution: models.ExecutionResponse
    messages: list[models.MessageResponse] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.execution["status"] in TERMINAL_STATUSES


class AgentTasks:
    """A client for one API and one bearer token. Use it as a context manager, or call `close()`."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        max_attempts: int = 4,
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        headers = {"Accept": "application/json", "User-Agent": "agent-tasks-client"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base_url = api_base(url)
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )
        self._transport = transport
        self._timeout = timeout
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._backoff = _Backoff(backoff_initial, backoff_max)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AgentTasks:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- transport ------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        replayable: bool | None = None,
    ) -> httpx.Response:
        """One call, retried on 429, 5xx and connection failures when that is safe: always for reads,
        idempotent methods and requests with an `Idempotency-Key` (or `replayable=True`); otherwise only
        when the request cannot have been acted on (429, a refused connection). Raises `APIError` for an
        error answer, `TransportError` when the API cannot be reached."""
        method = method.upper()
        if replayable is None:
            replayable = method in SAFE_METHODS or bool(headers and "Idempotency-Key" in headers)

        def retryable(error: BaseException) -> bool:
            if isinstance(error, APIError):
                return error.status == 429 or (replayable and error.status >= 500)
            if isinstance(error, httpx.ConnectError):
                return True
            return replayable and isinstance(error, httpx.TransportError)

        def once() -> httpx.Response:
            response = self._http.request(
                method,
                path,
                params=params,
                json=json,
                headers=headers,
                timeout=timeout if timeout is not None else self._timeout,
            )
            if response.status_code >= 400:
                try:
                    body: Any = response.json()
                except ValueError:
                    body = None
                raise error_for(response.status_code, body, _retry_after(response))
            return response

        retrying = Retrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=self._backoff,
            retry=retry_if_exception(retryable),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(once)
        except httpx.TransportError as error:
            raise TransportError(f"cannot reach {self.base_url}: {error}") from error

    def _get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=_params(**params)).json()

    def _post(self, path: str, body: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        return self.request("POST", path, json=body, headers=headers).json()

    def _walk(self, path: str, params: dict[str, Any]) -> Iterator[Any]:
        """Every item of a list, page after page, by `next_cursor`."""
        cursor: str | None = None
        while True:
            page = self._get(path, **params, cursor=cursor)
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    # -- service --------------------------------------------------------------------------------------

    def health(self) -> models.Health:
        return cast(models.Health, self._get("/health"))

    def openapi(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._get("/openapi.json"))

    # -- tasks ----------------------------------------------------------------------------------------

    def create_task(self, task: models.TaskCreate | Mapping[str, Any]) -> models.TaskResponse:
        return cast(models.TaskResponse, self._post("/tasks", dict(task)))

    def get_task(self, task_id: str) -> models.TaskResponse:
        return cast(models.TaskResponse, self._get(f"/tasks/{task_id}"))

    def list_tasks(
        self,
        *,
        tags: list[str] | None = None,
        is_scheduled: bool | None = None,
        is_active: bool | None = None,
        q: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> models.PageTaskResponse:
        return cast(
            models.PageTaskResponse,
            self._get(
                "/tasks",
                tags=",".join(tags) if tags else None,
                is_scheduled=is_scheduled,
                is_active=is_active,
                q=q,
                page=page,
                page_size=page_size,
                cursor=cursor,
            ),
        )

    def iter_tasks(
        self,
        *,
        tags: list[str] | None = None,
        is_scheduled: bool | None = None,
        is_active: bool | None = None,
        q: str | None = None,
        page_size: int = 100,
    ) -> Iterator[models.TaskResponse]:
        params = _params(
            tags=",".join(tags) if tags else None, is_scheduled=is_scheduled, is_active=is_active, q=q
        )
        yield from self._walk("/tasks", {**params, "page_size": page_size})

    def update_task(
        self,
        task_id: str,
        changes: models.TaskUpdate | Mapping[str, Any],
        *,
        if_match: int | str | None = None,
    ) -> models.TaskResponse:
        """PATCH; with `if_match` (the task's `version` or ETag) a concurrent change answers 412."""
        etag = _etag(if_match)
        # With If-Match a replay cannot apply twice (the version has moved on), so it may be retried.
        response = self.request(
            "PATCH",
            f"/tasks/{task_id}",
            json=dict(changes),
            headers={"If-Match": etag} if etag else None,
            replayable=etag is not None,
        )
        return cast(models.TaskResponse, response.json())

    def delete_task(self, task_id: str, *, if_match: int | str | None = None) -> None:
        etag = _etag(if_match)
        self.request("DELETE", f"/tasks/{task_id}", headers={"If-Match": etag} if etag else None)

    def restore_task(self, task_id: str) -> models.TaskResponse:
        return cast(models.TaskResponse, self._post(f"/tasks/{task_id}/restore"))

    def preview_task(
        self, task_id: str, variables: Mapping[str, Any] | None = None
    ) -> models.PreviewResponse:
        return cast(
            models.PreviewResponse,
            self._post(f"/tasks/{task_id}/preview", {"variables": dict(variables or {})}),
        )

    def rotate_webhook_secret(
        self, task_id: str, *, if_match: int | str | None = None
    ) -> models.TaskResponse:
        """A new webhook signing secret (in this answer only); the old one stops working."""
        etag = _etag(if_match)
        response = self.request(
            "POST", f"/tasks/{task_id}/webhook-secret/rotate", headers={"If-Match": etag} if etag else None
        )
        return cast(models.TaskResponse, response.json())

    # -- schedules ------------------------------------------------------------------------------------

    def run_now(self, task_id: str, *, force: bool = False) -> models.ExecutionResponse:
        """Run the task's schedule now (409 under `overlap_policy: skip` while a run goes, unless `force`)."""
        body: models.RunNowRequest = {"force": True} if force else {}
        return cast(models.ExecutionResponse, self._post(f"/tasks/{task_id}/run-now", body))

    def backfill(self, task_id: str, start: str, end: str) -> models.BackfillResponse:
        """Run the schedule's slots in [start, end] (ISO 8601 instants; at most 100 slots)."""
        body: models.BackfillRequest = {"from": start, "to": end}
        return cast(models.BackfillResponse, self._post(f"/tasks/{task_id}/backfill", body))

    # -- secrets --------------------------------------------------------------------------------------

    def put_secret(self, name: str, value: str, *, description: str | None = None) -> models.SecretResponse:
        """Create or replace a secret; the answer never holds the value."""
        body: dict[str, Any] = {"value": value}
        if description is not None:
            body["description"] = description
        # A replay writes the same value again: safe to retry.
        response = self.request("PUT", f"/secrets/{name}", json=body, replayable=True)
        return cast(models.SecretResponse, response.json())

    def list_secrets(self) -> models.SecretList:
        return cast(models.SecretList, self._get("/secrets"))

    def delete_secret(self, name: str, *, force: bool = False) -> None:
        self.request("DELETE", f"/secrets/{name}", params=_params(force=force or None))

    # -- executions -----------------------------------------------------------------------------------

    def execute(
        self,
        task_id: str,
        variables: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> models.ExecutionResponse:
        """Start an execution. An `Idempotency-Key` is always sent (a fresh one unless given), so a
        retried request answers the same execution instead of starting a second."""
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        body = {"variables": dict(variables or {})}
        return cast(models.ExecutionResponse, self._post(f"/tasks/{task_id}/execute", body, headers))

    def list_executions(
        self,
        task_id: str,
        *,
        status: ExecutionStatus | None = None,
        page: int | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> models.PageExecutionResponse:
        return cast(
            models.PageExecutionResponse,
            self._get(
                f"/tasks/{task_id}/executions", status=status, page=page, page_size=page_size, cursor=cursor
            ),
        )

    def iter_executions(
        self, task_id: str, *, status: ExecutionStatus | None = None, page_size: int = 100
    ) -> Iterator[models.ExecutionResponse]:
        yield from self._walk(f"/tasks/{task_id}/executions", _params(status=status, page_size=page_size))

    def get_execution(self, execution_id: str) -> models.ExecutionResponse:
        return cast(models.ExecutionResponse, self._get(f"/task-executions/{execution_id}"))

    def cancel_execution(self, execution_id: str) -> models.ExecutionResponse:
        return cast(models.ExecutionResponse, self._post(f"/task-executions/{execution_id}/cancel"))

    def list_deliveries(
        self, execution_id: str, *, page_size: int | None = None, cursor: str | None = None
    ) -> models.PageDelivery:
        """A page of the notifier's delivery attempts of the execution's notifications, oldest first."""
        return cast(
            models.PageDelivery,
            self._get(f"/task-executions/{execution_id}/deliveries", page_size=page_size, cursor=cursor),
        )

    def iter_deliveries(self, execution_id: str, *, page_size: int = 100) -> Iterator[models.Delivery]:
        yield from self._walk(f"/task-executions/{execution_id}/deliveries", {"page_size": page_size})

    def rerun_execution(self, execution_id: str) -> models.ExecutionResponse:
        return cast(models.ExecutionResponse, self._post(f"/task-executions/{execution_id}/rerun"))

    def list_approvals(
        self, execution_id: str, *, page_size: int | None = None, cursor: str | None = None
    ) -> models.PageApprovalResponse:
        """A page of the execution's approval requests (tool calls that wait for a person), oldest first."""
        return cast(
            models.PageApprovalResponse,
            self._get(f"/task-executions/{execution_id}/approvals", page_size=page_size, cursor=cursor),
        )

    def iter_approvals(self, execution_id: str, *, page_size: int = 100) -> Iterator[models.ApprovalResponse]:
        yield from self._walk(f"/task-executions/{execution_id}/approvals", {"page_size": page_size})

    def decide_approval(
        self,
        execution_id: str,
        approval_id: str,
        decision: Literal["approve", "deny"],
        *,
        reason: str | None = None,
    ) -> models.ApprovalResponse:
        """Approve or deny a waiting tool call, once (a second answer raises a 409 APIError)."""
        body: dict[str, Any] = {"decision": decision}
        if reason is not None:
            body["reason"] = reason
        return cast(
            models.ApprovalResponse,
            self._post(f"/task-executions/{execution_id}/approvals/{approval_id}", body),
        )

    def follow(
        self, execution_id: str, *, wait_seconds: int = DEFAULT_FOLLOW_WAIT_SECONDS
    ) -> Iterator[Progress]:
        """The execution as it runs: each step yields its state and the transcript messages new since
        the last step (long-polled with `after` and `wait`, so a step costs only what is new), until it
        has ended and every message has been read."""
        after = 0
        while True:
            execution = self.get_execution(execution_id)
            session_id = execution.get("session_id")
            if not session_id:
                if execution["status"] in TERMINAL_STATUSES:
                    yield Progress(execution)
                    return
                yield Progress(execution)
                self._sleep(PENDING_PAUSE_SECONDS)  # not started yet: no session to wait on
                continue
            finished = execution["status"] in TERMINAL_STATUSES
            page = self.list_messages(
                session_id, after=after, wait=0 if finished else wait_seconds, page_size=100
            )
            messages = page["items"]
            if messages:
                after = messages[-1]["seq"]
            yield Progress(execution, messages)
            if finished and after >= page["total"]:
                return

    # -- sessions and transcripts ---------------------------------------------------------------------

    def get_session(self, session_id: str) -> models.SessionResponse:
        return cast(models.SessionResponse, self._get(f"/sessions/{session_id}"))

    def list_messages(
        self,
        session_id: str,
        *,
        after: int | None = None,
        wait: int | None = None,
        page: int | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> models.PageMessageResponse:
        """A page of the transcript; with `after`, only newer messages, waiting up to `wait` seconds."""
        timeout = self._timeout + (wait or 0)
        response = self.request(
            "GET",
            f"/sessions/{session_id}/messages",
            params=_params(after=after, wait=wait, page=page, page_size=page_size, cursor=cursor),
            timeout=timeout,
        )
        return cast(models.PageMessageResponse, response.json())

    def iter_messages(self, session_id: str, *, page_size: int = 100) -> Iterator[models.MessageResponse]:
        yield from self._walk(f"/sessions/{session_id}/messages", {"page_size": page_size})

    # -- reports --------------------------------------------------------------------------------------

    def get_report(self, report_id: str) -> models.ReportResponse:
        return cast(models.ReportResponse, self._get(f"/reports/{report_id}"))

    def list_reports(
        self,
        task_id: str,
        *,
        page: int | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> models.PageReportResponse:
        return cast(
            models.PageReportResponse,
            self._get(f"/tasks/{task_id}/reports", page=page, page_size=page_size, cursor=cursor),
        )

    def iter_reports(self, task_id: str, *, page_size: int = 100) -> Iterator[models.ReportResponse]:
        yield from self._walk(f"/tasks/{task_id}/reports", {"page_size": page_size})

    def download_report(self, report_id: str) -> tuple[models.ReportResponse, bytes]:
        """The report's metadata and its content, fetched from the presigned `download_url` (which
        carries its own signature: the bearer token is not sent there)."""
        report = self.get_report(report_id)
        url = report.get("download_url")
        if not url:
            raise APIError(404, "not_found", "the report has no download URL")
        with httpx.Client(timeout=self._timeout, transport=self._transport) as plain:
            retrying = Retrying(
                stop=stop_after_attempt(self._max_attempts),
                wait=self._backoff,
                retry=retry_if_exception(lambda e: isinstance(e, httpx.TransportError)),
                sleep=self._sleep,
                reraise=True,
            )
            response = retrying(plain.get, url)
        if response.status_code >= 400:
            raise APIError(
                response.status_code, f"http_{response.status_code}", "the report could not be downloaded"
            )
        return report, response.content

    # -- audit ----------------------------------------------------------------------------------------

    def list_audit_events(
        self, *, page_size: int | None = None, cursor: str | None = None
    ) -> models.PageAuditEvent:
        return cast(models.PageAuditEvent, self._get("/audit-events", page_size=page_size, cursor=cursor))

    def iter_audit_events(self, *, page_size: int = 100) -> Iterator[models.AuditEvent]:
        yield from self._walk("/audit-events", {"page_size": page_size})

    # -- spend caps and usage -------------------------------------------------------------------------

    def get_limits(self) -> models.SpendLimitsResponse:
        return cast(models.SpendLimitsResponse, self._get("/limits"))

    def set_limits(self, limits: models.SpendLimitsInput | Mapping[str, Any]) -> models.SpendLimitsResponse:
        """PUT: replaces your caps and default retention (absent or null: none)."""
        return cast(models.SpendLimitsResponse, self.request("PUT", "/limits", json=dict(limits)).json())

    def get_usage(self, period: str = "day") -> models.UsageResponse:
        """Your spend in the current UTC `day` or `month`, in total and per task."""
        return cast(models.UsageResponse, self._get("/usage", period=period))


# Which method calls each route of the API (the drift test checks every documented route is here).
ROUTE_METHODS: dict[str, tuple[str, ...]] = {
    "/api/v1/health": ("health",),
    "/api/v1/tasks": ("create_task", "list_tasks", "iter_tasks"),
    "/api/v1/tasks/{task_id}": ("get_task", "update_task", "delete_task"),
    "/api/v1/tasks/{task_id}/restore": ("restore_task",),
    "/api/v1/tasks/{task_id}/preview": ("preview_task",),
    "/api/v1/tasks/{task_id}/execute": ("execute",),
    "/api/v1/tasks/{task_id}/executions": ("list_executions", "iter_executions"),
    "/api/v1/task-executions/{execution_id}": ("get_execution",),
    "/api/v1/task-executions/{execution_id}/cancel": ("cancel_execution",),
    "/api/v1/task-executions/{execution_id}/deliveries": ("list_deliveries", "iter_deliveries"),
    "/api/v1/task-executions/{execution_id}/rerun": ("rerun_execution",),
    "/api/v1/task-executions/{execution_id}/approvals": ("list_approvals", "iter_approvals"),
    "/api/v1/task-executions/{execution_id}/approvals/{approval_id}": ("decide_approval",),
    "/api/v1/sessions/{session_id}": ("get_session",),
    "/api/v1/sessions/{session_id}/messages": ("list_messages", "iter_messages"),
    "/api/v1/reports/{report_id}": ("get_report", "download_report"),
    "/api/v1/tasks/{task_id}/reports": ("list_reports", "iter_reports"),
    "/api/v1/audit-events": ("list_audit_events", "iter_audit_events"),
    "/api/v1/limits": ("get_limits", "set_limits"),
    "/api/v1/usage": ("get_usage",),
    "/api/v1/tasks/{task_id}/webhook-secret/rotate": ("rotate_webhook_secret",),
    "/api/v1/tasks/{task_id}/run-now": ("run_now",),
    "/api/v1/tasks/{task_id}/backfill": ("backfill",),
    "/api/v1/secrets": ("list_secrets",),
    "/api/v1/secrets/{name}": ("put_secret", "delete_secret"),
}
