"""Helpers for secrets tests: a KMS key in the test's moto, and secrets written through the service."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from agent_tasks.models.secrets import SecretPut
from agent_tasks.services import secrets as secret_service
from agent_tasks.services.actor import Actor
from agent_tasks.settings import get_settings

TOKEN_VALUE = "tok-3f9a8c1e5b7d-Zq+/w=="  # has characters base64 and URL encoding change


@pytest.fixture
def secrets_key(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A KMS key in this test's moto, named by SECRETS_KEY_ID as the template's SecretsKey would be."""
    key_id = boto3.client("kms", region_name="us-east-1").create_key(Description="test secrets")[
        "KeyMetadata"
    ]["KeyId"]
    monkeypatch.setenv("SECRETS_KEY_ID", key_id)
    get_settings.cache_clear()
    yield key_id
    get_settings.cache_clear()


def put_secret(owner: str, name: str, value: str = TOKEN_VALUE, description: str | None = None) -> None:
    secret_service.put_secret(
        Actor(owner), name, SecretPut.model_validate({"value": value, "description": description})
    )
