"""Domain errors. The API maps them to HTTP in one place (functions/api/api_routes/errors.py)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the service raises on purpose; `code` is stable, `message` is for people."""

    code = "error"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class NotFoundError(DomainError):
    code = "not_found"


class ForbiddenError(DomainError):
    code = "forbidden"


class ConflictError(DomainError):
    code = "conflict"


class PreconditionFailedError(DomainError):
    code = "precondition_failed"


class ValidationFailedError(DomainError):
    """Input that is well-formed JSON but breaks a rule (a 422)."""

    code = "validation_error"

    @classmethod
    def for_field(cls, field: str, message: str, *, kind: str = "value_error") -> ValidationFailedError:
        return cls(message, details=[{"loc": field.split("."), "msg": message, "type": kind}])


class ContentTooLargeError(DomainError):
    """What the request would store is larger than the store allows (a 413)."""

    code = "content_too_large"


class BadRequestError(DomainError):
    code = "bad_request"


class UnauthorizedError(DomainError):
    code = "unauthorized"


class ThrottledError(DomainError):
    code = "throttled"


class SpendCapReachedError(ThrottledError):
    """The caller's daily or monthly spend cap is reached: no new run until the period resets (a 429)."""

    code = "spend_cap_reached"
