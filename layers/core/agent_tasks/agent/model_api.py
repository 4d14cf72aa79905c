"""The provider interface: one Messages API request in, one plain answer out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from agent_tasks.errors import DomainError
from agent_tasks.models.transcript import ProviderName, Usage

MAX_REQUEST_TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """One Messages API call, in the API's own JSON shapes."""

    model: str
    messages: list[dict[str, Any]]
    max_tokens: int
    system: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    temperature: float | None = None
    mcp_servers: list[dict[str, Any]] = field(default_factory=list)
    timeout_seconds: float = MAX_REQUEST_TIMEOUT_SECONDS
    # {"effort": ..., "format": {"type": "json_schema", "schema": ...}}, only what the model supports.
    output_config: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ModelResponse:
    content: list[dict[str, Any]]
    usage: Usage
    stop_reason: str | None
    model: str


class ModelCallError(DomainError):
    """The model could not be reached or refused the request, after the SDK's retries."""

    code = "model_error"

    def __init__(self, message: str, *, status: int | None = None, timed_out: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.timed_out = timed_out


class ModelProvider(Protocol):
    @property
    def name(self) -> ProviderName: ...

    def create_message(self, request: ModelRequest) -> ModelResponse: ...
