"""Model providers: who answers a Messages API request.

`anthropic` is imported only inside the anthropic and bedrock code paths (it costs most of
a second to import), never when this module is imported.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent_tasks.agent.call_budget import GaveUp, backoff_seconds, call_within
from agent_tasks.agent.model_api import (
    MAX_REQUEST_TIMEOUT_SECONDS,
    ModelCallError,
    ModelProvider,
    ModelRequest,
    ModelResponse,
)
from agent_tasks.agent.scripted import ScriptedProvider
from agent_tasks.models.transcript import ProviderName, Usage
from agent_tasks.settings import Settings

if TYPE_CHECKING:
    import anthropic

# The MCP connector's beta: `mcp_servers` on the request, `mcp_toolset` entries in `tools`.
MCP_CONNECTOR_BETA = "mcp-client-2025-11-20"
DEFAULT_MAX_RETRIES = 4
RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


def usage_from_api(usage: Any) -> Usage:
    cache_creation = getattr(usage, "cache_creation", None)
    return Usage(
        input_tokens=getattr(usage, "input_tokens", 0) or 0,
        output_tokens=getattr(usage, "output_tokens", 0) or 0,
        cache_read_input_tokens=getattr(usage, "cache_read_input_tokens", 0) or 0,
        cache_creation_input_tokens=getattr(usage, "cache_creation_input_tokens", 0) or 0,
        cache_creation_1h_input_tokens=getattr(cache_creation, "ephemeral_1h_input_tokens", 0) or 0,
    )


class _MessagesApiProvider:
    """Shared by the Anthropic API and Bedrock: both speak the Messages API through the SDK."""

    max_retries: int
    retries_made: int = 0

    def _client(self) -> anthropic.Anthropic | Any:
        raise NotImplementedError

    def _within_budget(self, client: Any, ends_at: float, send: Callable[..., Any]) -> Any:
        """One call, its retries included, over by `ends_at` (monotonic): the SDK retries nothing itself.
        `send(client, **options)` makes one attempt with the given timeout and retry-count header."""
        attempt_client = client.with_options(max_retries=0)
        try:
            done = call_within(
                lambda timeout, retries: send(
                    attempt_client, timeout=timeout, extra_headers={"x-stainless-retry-count": str(retries)}
                ),
                seconds=max(0.1, ends_at - time.monotonic()),
                max_retries=self.max_retries,
                retry_wait=_retry_wait,
            )
        except GaveUp as gave_up:
            self.retries_made = gave_up.retries
            raise gave_up.error from None
        self.retries_made = done.retries
        return done.value

    def create_message(self, request: ModelRequest) -> ModelResponse:
        # The budget counts from here: importing the SDK and making the client take time too.
        ends_at = time.monotonic() + min(request.timeout_seconds, MAX_REQUEST_TIMEOUT_SECONDS)
        import anthropic

        client = self._client()
        kwargs: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": request.messages,
            # Explicit, so the SDK's long-request check never applies and a call fits the budget.
            "timeout": max(1.0, min(request.timeout_seconds, MAX_REQUEST_TIMEOUT_SECONDS)),
        }
        if request.system:
            kwargs["system"] = request.system
        if request.tools:
            kwargs["tools"] = request.tools
        if request.temperature is not None:
            # anthropic 2.15 no longer types the sampling parameters (the 5.x models refuse them);
            # the models that still take one get it as a plain body field.
            kwargs["extra_body"] = {"temperature": request.temperature}
        if request.output_config:
            kwargs["output_config"] = request.output_config
        try:
            with warnings.catch_warnings():
                # The SDK warns about deprecated models on every call; the catalogue says so once, on
                # the task's answer (`warnings`) and by the daily retiring-model check.
                warnings.filterwarnings(
                    "ignore", message="The model .* is deprecated", category=DeprecationWarning
                )
                if request.mcp_servers:
                    kwargs["mcp_servers"] = request.mcp_servers
                    message = self._within_budget(
                        client,
                        ends_at,
                        lambda c, **attempt: c.beta.messages.create(
                            **kwargs | attempt, betas=[MCP_CONNECTOR_BETA]
                        ),
                    )
                else:
                    message = self._within_budget(
                        client, ends_at, lambda c, **attempt: c.messages.create(**kwargs | attempt)
                    )
        except anthropic.APIStatusError as err:
            raise ModelCallError(self._describe_status(err), status=err.status_code) from err
        except anthropic.APITimeoutError as err:
            raise ModelCallError(
                f"the model API did not answer in time (after {self.retries_made} retries)", timed_out=True
            ) from err
        except anthropic.APIConnectionError as err:
            raise ModelCallError(
                f"cannot reach the model API (after {self.retries_made} retries): {err.message}"
            ) from err
        except anthropic.AnthropicError as err:
            raise ModelCallError(f"model call failed: {type(err).__name__}: {err}") from err
        return ModelResponse(
            content=[block.to_dict(mode="json", warnings=False) for block in message.content],
            usage=usage_from_api(message.usage),
            stop_reason=message.stop_reason,
            model=message.model,
        )

    def list_models(self) -> list[dict[str, Any]]:
        """Every model the Models API lists (retired ones included), as ModelInfo JSON."""
        import anthropic

        try:
            page = self._client().models.list(lifecycle=["active", "deprecated", "retired"], limit=100)
            return [info.to_dict(mode="json") for info in page]
        except anthropic.AnthropicError as err:
            raise ModelCallError(f"cannot list the models: {type(err).__name__}: {err}") from err

    def _describe_status(self, err: anthropic.APIStatusError) -> str:
        body = err.body if isinstance(err.body, dict) else {}
        detail = body.get("error", {}) if isinstance(body.get("error"), dict) else {}
        kind = detail.get("type") or type(err).__name__
        text = str(detail.get("message") or err.message)[:300]
        if err.status_code in RETRYABLE_STATUSES:
            return (
                f"the model API answered {err.status_code} ({kind}) and still did after "
                f"{self.retries_made} retries: {text}"
            )
        return f"the model API rejected the request with {err.status_code} ({kind}): {text}"


def _retry_wait(error: Exception, retries_done: int) -> float | None:
    """How long to wait before retrying `error` (None: not worth a retry), as the SDK decides it."""
    import anthropic

    if isinstance(error, anthropic.APIStatusError):
        headers = error.response.headers
        should = headers.get("x-should-retry")
        if should == "false" or (
            should != "true" and error.status_code not in RETRYABLE_STATUSES and error.status_code < 500
        ):
            return None
        for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
            try:
                after = float(headers.get(name, "")) * scale
            except ValueError:
                continue
            if 0 < after <= 60:
                return after
        return backoff_seconds(retries_done)
    if isinstance(error, anthropic.APIConnectionError):  # timeouts included
        return backoff_seconds(retries_done)
    return None


def resolve_api_key(settings: Settings) -> str | None:
    """The Anthropic API key: from the environment, else from SSM / Secrets Manager in AWS."""
    if settings.anthropic_api_key is not None and settings.anthropic_api_key.get_secret_value():
        return settings.anthropic_api_key.get_secret_value()
    name = settings.anthropic_api_key_parameter
    if not name:
        return None
    from agent_tasks import adapters

    # Cached by the port's adapter (Powertools) for max_age seconds: warm invocations do not call AWS.
    return adapters.secure_values().get(name, max_age=300)


class AnthropicProvider(_MessagesApiProvider):
    """The Anthropic API through the official client, with its retries (backoff and jitter)."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        settings: Settings | None = None,
    ) -> None:
        self._api_key = api_key
        self._base_url = base_url
        self._settings = settings
        self.max_retries = max_retries
        self._sdk_client: anthropic.Anthropic | None = None

    @property
    def name(self) -> ProviderName:
        return "anthropic"

    def _client(self) -> anthropic.Anthropic:
        if self._sdk_client is None:
            api_key = self._api_key
            base_url = self._base_url
            if self._settings is not None:
                api_key = api_key or resolve_api_key(self._settings)
                base_url = base_url or self._settings.anthropic_base_url
            if not api_key:
                raise ModelCallError("no Anthropic API key is configured")
            self._sdk_client = _anthropic_client(api_key, base_url, self.max_retries)
        return self._sdk_client


@functools.lru_cache(maxsize=4)
def _anthropic_client(api_key: str, base_url: str | None, max_retries: int) -> anthropic.Anthropic:
    """One client (and connection pool) per process: each RunAgent invocation makes a provider anew,
    and a warm Lambda should not pay a new TLS handshake for it."""
    import anthropic

    return anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=max_retries)


class BedrockProvider(_MessagesApiProvider):
    """Claude on Amazon Bedrock (AnthropicBedrock), signed with the function's IAM credentials."""

    def __init__(
        self,
        *,
        aws_region: str | None = None,
        base_url: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        self._aws_region = aws_region
        self._base_url = base_url
        self.max_retries = max_retries
        self._sdk_client: Any = None

    @property
    def name(self) -> ProviderName:
        return "bedrock"

    def _client(self) -> Any:
        if self._sdk_client is None:
            from anthropic.lib.bedrock import AnthropicBedrock

            self._sdk_client = AnthropicBedrock(
                aws_region=self._aws_region, base_url=self._base_url, max_retries=self.max_retries
            )
        return self._sdk_client


def select_provider(settings: Settings) -> ModelProvider:
    """The provider settings ask for; `auto` is anthropic when a key is configured, else scripted."""
    choice = settings.model_provider
    if choice == "auto":
        has_key = bool(settings.anthropic_api_key_parameter) or (
            settings.anthropic_api_key is not None and bool(settings.anthropic_api_key.get_secret_value())
        )
        choice = "anthropic" if has_key else "scripted"
    if choice == "anthropic":
        return AnthropicProvider(settings=settings)
    if choice == "bedrock":
        return BedrockProvider(aws_region=settings.aws_region)
    return ScriptedProvider()


__all__ = [
    "AnthropicProvider",
    "BedrockProvider",
    "ModelCallError",
    "ModelProvider",
    "ModelRequest",
    "ModelResponse",
    "ScriptedProvider",
    "resolve_api_key",
    "select_provider",
]
