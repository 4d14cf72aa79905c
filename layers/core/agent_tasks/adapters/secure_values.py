"""The secure-value port: a secret by name, from SSM Parameter Store (SecureString) or Secrets Manager
(`arn:aws:secretsmanager:...` or `secretsmanager:<name>`), cached for `max_age` seconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class SecureValues(Protocol):
    def get(self, name: str, *, max_age: int = 300) -> str:
        """The value stored under `name`."""


class ParameterStoreValues:
    """Powertools' parameters utility (its own cache), over SSM and Secrets Manager."""

    def get(self, name: str, *, max_age: int = 300) -> str:
        from aws_lambda_powertools.utilities import parameters

        if name.startswith("arn:aws:secretsmanager:") or name.startswith("secretsmanager:"):
            value = parameters.get_secret(name.removeprefix("secretsmanager:"), max_age=max_age)
        else:
            value = parameters.get_parameter(name, decrypt=True, max_age=max_age)
        return value if isinstance(value, str) else str(value)


@dataclass
class InMemorySecureValues:
    """A fake: values by name; a missing name is a KeyError."""

    values: dict[str, str] = field(default_factory=dict)

    def get(self, name: str, *, max_age: int = 300) -> str:
        return self.values[name]
