"""The one settings object: every environment variable the service reads is declared here."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

ModelProviderName = Literal["auto", "anthropic", "bedrock", "scripted"]
LOCAL_ENVIRONMENTS = frozenset({"local"})


class Settings(BaseModel):
    """Read once per process (cold start), validated, then passed around or fetched via `get_settings`.

    Each field is read from the environment variable its `validation_alias` names (any case, as
    pydantic-settings read them: this is a plain model since issue 23, because importing
    pydantic-settings was about 5% of a cold start); values given to the constructor, by the same
    names, take precedence.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, validate_default=True)

    if TYPE_CHECKING:  # every value may come from the environment, so none is required here

        def __init__(self, **values: Any) -> None: ...

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, given: Any) -> Any:
        if not isinstance(given, dict):
            return given
        environment = {name.lower(): value for name, value in os.environ.items()}
        read = {
            alias: environment[alias.lower()]
            for alias in _ALIASES
            if alias.lower() in environment and alias not in given
        }
        return {**read, **given}

    # Infrastructure every function needs (the template's Globals set them): no defaults, so a function
    # deployed without one fails at its cold start, naming the variable, not at its first call.
    table_name: str = Field(min_length=1, validation_alias="TABLE_NAME")
    bucket_name: str = Field(min_length=1, validation_alias="BUCKET_NAME")
    event_bus_name: str = Field(min_length=1, validation_alias="EVENT_BUS_NAME")
    # Only the functions that start or stop workflows (api, scheduler) are given it: they `require` it
    # at their cold start. Empty means not given (no default ARN).
    state_machine_arn: str = Field(default="", validation_alias="STATE_MACHINE_ARN")
    aws_region: str = Field(default="us-east-1", validation_alias="AWS_REGION")
    environment: str = Field(default="dev", validation_alias="ENVIRONMENT")
    # Link each execution answer to its Step Functions console page (`_links.console`). The template
    # turns it on in AWS and off in the local cloud, whose ARNs lead nowhere in a console.
    console_links: bool = Field(default=False, validation_alias="CONSOLE_LINKS")
    # The API's base URL (the notifier links a Slack message to the execution and its report).
    api_base_url: str = Field(default="", validation_alias="API_BASE_URL")
    # Shards of the due-schedule index (GSI2); a task lands on one by a hash of its id.
    due_shards: int = Field(default=4, ge=1, le=64, validation_alias="DUE_SHARDS")
    # The start queue (SQS) the scheduler hands claimed slots to; empty: the tick starts them inline.
    start_queue_url: str = Field(default="", validation_alias="START_QUEUE_URL")
    # Due tasks a scheduler tick claims at once (each claim is two DynamoDB calls).
    scheduler_claim_workers: int = Field(default=16, ge=1, le=64, validation_alias="SCHEDULER_CLAIM_WORKERS")
    # How far ahead of a slot's time the tick claims it and starts its workflow, which waits (a Wait
    # state) until the slot: the StartExecution calls of a round minute spread over the minute before
    # it (services/slot_time.py). 0: off (slots are claimed when due). At most 240 s: a waiting
    # execution must begin well inside the stale-pending sweeper's 5 minutes.
    schedule_lookahead_seconds: int = Field(
        default=60, ge=0, le=240, validation_alias="SCHEDULE_LOOKAHEAD_SECONDS"
    )
    # The account's StartExecution token bucket when its quota was raised (else the region's default,
    # schedules/quotas.py): the tick paces queued starts to it.
    start_quota_bucket: int | None = Field(
        default=None, ge=1, le=1_000_000, validation_alias="START_QUOTA_BUCKET"
    )
    start_quota_refill_per_second: float | None = Field(
        default=None, gt=0, le=100_000, validation_alias="START_QUOTA_REFILL_PER_SECOND"
    )
    # Model provider: `auto` picks anthropic when a key is configured, else scripted.
    model_provider: ModelProviderName = Field(default="auto", validation_alias="MODEL_PROVIDER")
    anthropic_api_key_parameter: str = Field(default="", validation_alias="ANTHROPIC_API_KEY_PARAMETER")
    # A key in the environment (local use); in AWS the key comes from the parameter above.
    anthropic_api_key: SecretStr | None = Field(default=None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(default=None, validation_alias="ANTHROPIC_BASE_URL")
    # The model of a task that names none (a template parameter in AWS).
    default_model: str = Field(
        default="claude-sonnet-5-5", min_length=1, max_length=128, validation_alias="DEFAULT_MODEL"
    )
    # Price table entries that replace the shipped ones (agent/data/prices.json's shape), as JSON.
    price_table_json: str | None = Field(
        default=None, max_length=100_000, validation_alias="PRICE_TABLE_JSON"
    )
    # How long a model catalogue read from the Models API is cached in the table (at most a day).
    model_catalog_ttl_seconds: int = Field(
        default=21_600, ge=60, le=86_400, validation_alias="MODEL_CATALOG_TTL_SECONDS"
    )
    # How long an execution and all of it (session, messages, report, S3 objects) is kept when neither
    # the task nor its owner's limits say (DynamoDB TTL; S3 by lifecycle rules, see retention.py).
    retention_days: int = Field(default=90, ge=1, le=400, validation_alias="RETENTION_DAYS")
    # At most this many executions of one user run at once (pending or running); more are queued and
    # start as running ones end (services/concurrency.py). A template parameter.
    max_concurrent_runs_per_user: int = Field(
        default=20, ge=1, le=1000, validation_alias="MAX_CONCURRENT_RUNS_PER_USER"
    )
    # How long an audit event is kept (DynamoDB TTL).
    audit_retention_days: int = Field(default=400, ge=1, validation_alias="AUDIT_RETENTION_DAYS")
    # Lifetime of presigned report URLs.
    report_url_ttl_seconds: int = Field(
        default=900, ge=60, le=3600, validation_alias="REPORT_URL_TTL_SECONDS"
    )
    # Time one RunAgent invocation may use; unset means the Lambda's remaining time minus a margin.
    run_agent_budget_seconds: float | None = Field(
        default=None, gt=0, le=900, validation_alias="RUN_AGENT_BUDGET_SECONDS"
    )
    # At most this many model calls per RunAgent invocation (unset: no cap); tests use it to force resumes.
    run_agent_max_model_calls: int | None = Field(
        default=None, ge=1, le=1000, validation_alias="RUN_AGENT_MAX_MODEL_CALLS"
    )
    # How long an Idempotency-Key of POST .../execute is remembered.
    idempotency_ttl_seconds: int = Field(
        default=86_400, ge=60, le=604_800, validation_alias="IDEMPOTENCY_TTL_SECONDS"
    )
    # The HMAC key list cursors are signed with (services/paging.py): the value (local use), or the name
    # of an SSM SecureString parameter holding it (AWS).
    cursor_signing_key: SecretStr | None = Field(default=None, validation_alias="CURSOR_SIGNING_KEY")
    cursor_signing_key_parameter: str = Field(default="", validation_alias="CURSOR_SIGNING_KEY_PARAMETER")
    # Allow webhook and http_request targets on loopback: only the local cloud's tests set this.
    allow_private_network: bool = Field(default=False, validation_alias="ALLOW_PRIVATE_NETWORK")
    # Where the executor keeps its working directories; everything in it that is not a running
    # invocation's is removed when an invocation starts. In AWS the template sets /tmp (the executor
    # owns all of it); unset (local, tests): a private directory of this process, never /tmp itself.
    executor_scratch_root: str | None = Field(default=None, validation_alias="EXECUTOR_SCRATCH_ROOT")
    # Which of the executor's descendant processes cleanup kills: `descendants` (AWS: all of them but
    # a running invocation's), `tagged` (local: only processes tools started, as other code shares
    # the process). See agent_tasks.agent.tools.processes.
    tool_process_scope: Literal["tagged", "descendants"] = Field(
        default="tagged", validation_alias="TOOL_PROCESS_SCOPE"
    )
    # The KMS key that seals secrets for tools (the template's SecretsKey); empty: no secrets API.
    secrets_key_id: str = Field(default="", validation_alias="SECRETS_KEY_ID")

    @model_validator(mode="after")
    def _private_network_only_locally(self) -> Self:
        # The template never sets ALLOW_PRIVATE_NETWORK; should a deployment set it anyway, it does
        # not start: only the local cloud (Environment "local") may reach loopback from tools.
        if self.allow_private_network and self.environment not in LOCAL_ENVIRONMENTS:
            raise ValueError("ALLOW_PRIVATE_NETWORK is for the local cloud only (ENVIRONMENT=local)")
        return self

    @field_validator("price_table_json")
    @classmethod
    def _price_table_loads(cls, value: str | None) -> str | None:
        """A bad override fails at cold start, not as a 500 on the first priced request."""
        if value:
            from agent_tasks.agent.pricing import load_price_table

            load_price_table(value)
        return value

    def require(self, *fields: str) -> Settings:
        """These settings, if each named field is set; else SettingsError naming its variable."""
        missing = [field for field in fields if not getattr(self, field)]
        if missing:
            raise SettingsError([_variable(field) for field in missing])
        return self


# The variable each field is read from: its validation_alias (every field has one), else its name.
_ALIASES = tuple(
    field.validation_alias if isinstance(field.validation_alias, str) else name
    for name, field in Settings.model_fields.items()
)


class SettingsError(RuntimeError):
    """A required setting is missing or invalid; the message names the environment variables."""

    def __init__(self, variables: list[str], reasons: list[str] | None = None) -> None:
        detail = "; ".join(f"{v}: {r}" for v, r in zip(variables, reasons, strict=True)) if reasons else ""
        super().__init__(
            f"required setting(s) missing or invalid: {', '.join(variables)}"
            + (f" ({detail})" if detail else "")
        )
        self.variables = variables


def _variable(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    return alias if isinstance(alias, str) else field.upper()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once; SettingsError names any variable that is missing."""
    try:
        return Settings()
    except ValidationError as error:
        problems = error.errors()
        raise SettingsError(
            [str(problem["loc"][0]) for problem in problems], [problem["msg"] for problem in problems]
        ) from None
