"""Model and loop options of a task (`sdk_options`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, ValidationInfo, field_validator

from agent_tasks.models.common import is_stored, utf8_at_most

PermissionMode = Literal["default", "acceptEdits", "plan", "bypassPermissions"]
Effort = Literal["low", "medium", "high", "xhigh", "max"]
ModelId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@/-]+$")]


def _default_model() -> str:
    from agent_tasks.settings import get_settings

    return get_settings().default_model


class McpServer(BaseModel):
    """A remote MCP server reached through the Messages API's MCP connector."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Used in tool names.")]
    url: HttpUrl
    authorization_token: SecretStr | None = Field(
        default=None,
        exclude=True,  # stored by the task store on purpose; never serialised into an answer
        description="Bearer token for the server; write-only, never returned in answers.",
    )

    @field_validator("url")
    @classmethod
    def _https_only(cls, url: HttpUrl, info: ValidationInfo) -> HttpUrl:
        if url.scheme != "https" and not is_stored(info):
            raise ValueError("MCP server URLs must use https")
        return url


class SdkOptions(BaseModel):
    """How the agent loop runs. Unknown keys are rejected, not ignored."""

    model_config = ConfigDict(extra="forbid")

    model: ModelId = Field(
        default_factory=_default_model, description="Defaults to the deployment's DEFAULT_MODEL."
    )
    fallback_model: ModelId | None = Field(
        default=None, description="Used when the model is overloaded (529) or unavailable after retries."
    )
    effort: Effort | None = Field(
        default=None, description="Sent as output_config.effort; only for models that support it."
    )
    max_turns: Annotated[int, Field(ge=1, le=200)] = 10
    max_tokens: Annotated[int, Field(ge=1, le=128_000)] = 4096
    permission_mode: PermissionMode = "default"
    system_prompt: Annotated[str | None, Field(max_length=100_000), utf8_at_most(100_000)] = None
    temperature: Annotated[float | None, Field(ge=0.0, le=1.0)] = None
    max_budget_usd: Annotated[float | None, Field(ge=0.0001, le=10_000)] = None
    timeout_seconds: Annotated[int, Field(ge=10, le=86_400)] = 900
    mcp_servers: Annotated[list[McpServer], Field(max_length=10)] = Field(default_factory=list)

    @field_validator("mcp_servers")
    @classmethod
    def _unique_server_names(cls, servers: list[McpServer], info: ValidationInfo) -> list[McpServer]:
        names = [s.name for s in servers]
        if len(names) != len(set(names)) and not is_stored(info):
            raise ValueError("MCP server names must be unique")
        return servers
