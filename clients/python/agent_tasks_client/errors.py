"""The API's errors as exceptions: every error answer is `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

from typing import Any


class AgentTasksError(Exception):
    """Base of everything this client raises on purpose."""


class TransportError(AgentTasksError):
    """The API could not be reached (connection refused, timed out) after the retries."""


class APIError(AgentTasksError):
    """An error answer. `code` is stable, `message` is for people, `details` name fields (`loc`)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.retry_after = retry_after

    @property
    def fields(self) -> list[str]:
        """Each detail as `field: reason`, the field its `loc` joined with dots (e.g. `body.name`)."""
        described = []
        for detail in self.details:
            loc = ".".join(str(part) for part in detail.get("loc") or [])
            reason = str(detail.get("msg") or "")
            described.append(f"{loc}: {reason}" if loc else reason)
        return described


class BadRequest(APIError):
    """400: malformed input (not JSON, a bad cursor)."""


class Unauthorized(APIError):
    """401: no token, or one that is expired or not for this API."""


class Forbidden(APIError):
    """403: readable but not yours to change."""


class NotFound(APIError):
    """404: no such resource, or not yours."""


class Conflict(APIError):
    """409: e.g. the name is taken, or the execution has already ended."""


class PreconditionFailed(APIError):
    """412: `If-Match` names a version that has moved on."""


class ValidationFailed(APIError):
    """422: a rule is broken; `details` name the field and why."""


class RateLimited(APIError):
    """429: too many requests (retried with backoff before it is raised)."""


class ServerError(APIError):
    """5xx (retried with backoff before it is raised)."""


BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    422: ValidationFailed,
    429: RateLimited,
}


def error_for(status: int, body: Any, retry_after: float | None = None) -> APIError:
    """The exception for an error answer; a body not of the documented shape still gives its status."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        message = body.get("message") if isinstance(body, dict) else None  # e.g. the gateway's 401
        error = {"code": f"http_{status}", "message": str(message or f"HTTP {status}")}
    kind = BY_STATUS.get(status, ServerError if status >= 500 else APIError)
    details = error.get("details")
    return kind(
        status,
        str(error.get("code") or f"http_{status}"),
        str(error.get("message") or f"HTTP {status}"),
        details if isinstance(details, list) else [],
        retry_after=retry_after,
    )
