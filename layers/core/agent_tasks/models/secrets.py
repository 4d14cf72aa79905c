"""Secrets for tools: what a user sends, what is stored (never a clear value), what the API answers.

A secret's value is write-only: it arrives in a PUT, is sealed (KMS envelope encryption, see
`agent_tasks.vault`) before anything stores it, and is opened only by the executor for a run of a
task that references it. No answer, log line, event or report ever holds it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator

from agent_tasks.models.common import API_BASE

SECRET_NAME_PATTERN = r"^[A-Z_][A-Z0-9_]{0,63}$"  # noqa: S105 - a name pattern, not a password
MAX_SECRET_BYTES = 32 * 1024
MAX_SECRETS_PER_TASK = 20
# `{{ secret.NAME }}`: where a tool may use a secret it was given (http_request headers and query,
# an MCP server's authorization_token). Substituted by the executor after the model wrote the call.
SECRET_REFERENCE = re.compile(r"\{\{\s*secret\.([A-Z_][A-Z0-9_]{0,63})\s*\}\}")
# Names bash must keep for itself: a secret may not replace the command's own environment.
RESERVED_NAMES = frozenset({"PATH", "HOME", "LANG", "TMPDIR", "PWD", "SHELL", "IFS", "BASH_ENV", "ENV"})


def _not_reserved(name: str) -> str:
    if name in RESERVED_NAMES:
        raise ValueError(f"{name} is reserved for the command environment; choose another name")
    if name.startswith(("AWS_", "BASH_FUNC_", "LD_")):
        raise ValueError("names starting with AWS_, LD_ or BASH_FUNC_ are reserved")
    return name


SecretName = Annotated[
    str,
    Field(
        pattern=SECRET_NAME_PATTERN, description="Upper-case letters, digits and _, 1-64, not a digit first."
    ),
    AfterValidator(_not_reserved),
]


def referenced_names(text: str | None) -> list[str]:
    """The secret names a `{{ secret.NAME }}` text refers to, in order, once each."""
    return list(dict.fromkeys(SECRET_REFERENCE.findall(text or "")))


class SecretPut(BaseModel):
    """The body of PUT /secrets/{name}: a new value (and description) for the secret."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, defer_build=True)

    value: SecretStr = Field(
        description="The secret value, write-only: never returned. At most 32 KB (UTF-8).",
        json_schema_extra={"writeOnly": True, "minLength": 1, "maxLength": MAX_SECRET_BYTES},
    )
    description: Annotated[str | None, Field(max_length=1000)] = None

    @field_validator("value")
    @classmethod
    def _value_fits(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value()
        # The messages never quote the value.
        if not text:
            raise ValueError("the value is empty")
        if len(text.encode("utf-8")) > MAX_SECRET_BYTES:
            raise ValueError(f"the value is longer than {MAX_SECRET_BYTES} bytes (UTF-8)")
        if "\x00" in text:
            raise ValueError("the value contains a NUL character, which an environment variable cannot hold")
        return value


class SealedValue(BaseModel):
    """A value as stored: the data key sealed by KMS, the value sealed by that key (AES-256-GCM)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    key_id: str
    encrypted_key: str  # base64 of the KMS ciphertext blob of the data key
    nonce: str  # base64
    ciphertext: str  # base64 (AES-GCM, tag appended)


class SecretRecord(BaseModel):
    """What is stored about a secret. The value only ever sealed."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    owner_id: str
    name: str
    description: str | None = None
    created_at: datetime
    updated_at: datetime
    version: int = Field(ge=1)
    last_used_at: datetime | None = None
    last_used_task_id: str | None = None
    last_used_execution_id: str | None = None
    sealed: SealedValue | None = Field(default=None, repr=False)  # None when listed (not read)


class SecretLinks(BaseModel):
    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    self_: str = Field(alias="self")


class SecretResponse(BaseModel):
    """A secret as the API answers it: its name and history, never its value."""

    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    name: str
    description: str | None = None
    created_at: datetime
    updated_at: datetime
    version: int
    last_used_at: datetime | None = Field(default=None, description="When a run last read it.")
    last_used_by_task_id: str | None = Field(default=None, description="The task whose run last read it.")
    last_used_by_execution_id: str | None = None
    links: SecretLinks = Field(alias="_links")

    @classmethod
    def of(cls, record: SecretRecord) -> SecretResponse:
        return cls(
            name=record.name,
            description=record.description,
            created_at=record.created_at,
            updated_at=record.updated_at,
            version=record.version,
            last_used_at=record.last_used_at,
            last_used_by_task_id=record.last_used_task_id,
            last_used_by_execution_id=record.last_used_execution_id,
            links=SecretLinks(self_=f"{API_BASE}/secrets/{record.name}"),
        )


class SecretList(BaseModel):
    """Every secret of the caller (at most a few hundred: one page)."""

    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    items: list[SecretResponse]
    total: int
    links: dict[str, str] = Field(alias="_links")
