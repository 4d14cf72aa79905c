"""Secrets tests share the KMS key fixture."""

from tests.support.secrets import secrets_key

__all__ = ["secrets_key"]
