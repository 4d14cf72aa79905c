"""`make e2e-aws STACK=<name>`: the e2e tests against a deployed stack instead of the dev server.

The API URL and the Cognito pool come from the stack's outputs; each test user is created in the
pool (a random password, never printed), signs in with the admin flow, and is removed at the end.
Without AWS credentials the run is skipped, saying so.
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx2 as httpx
import pytest

STACK_VARIABLE = "AGENT_TASKS_E2E_STACK"


def requested_stack() -> str | None:
    return os.environ.get(STACK_VARIABLE) or None


@dataclass
class DeployedStack:
    """What the e2e tests need of a server (as DevServer offers it), for a stack in AWS."""

    name: str
    base_url: str
    user_pool_id: str
    client_id: str
    _idp: Any = field(repr=False)
    _run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _tokens: dict[str, str] = field(default_factory=dict, repr=False)
    _usernames: list[str] = field(default_factory=list, repr=False)

    def token(self, user: str, *extra: str) -> str:
        if extra:
            pytest.skip(f"token options {extra} need the local dev issuer, not Cognito")
        if user not in self._tokens:
            self._tokens[user] = self._sign_in(f"e2e-{self._run}-{user}@example.com")
        return self._tokens[user]

    def client(self, user: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(user)}"} if user else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)

    def _sign_in(self, email: str) -> str:
        password = secrets.token_urlsafe(24) + "Aa1"
        self._idp.admin_create_user(
            UserPoolId=self.user_pool_id,
            Username=email,
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        )
        self._usernames.append(email)
        self._idp.admin_set_user_password(
            UserPoolId=self.user_pool_id, Username=email, Password=password, Permanent=True
        )
        answer = self._idp.admin_initiate_auth(
            UserPoolId=self.user_pool_id,
            ClientId=self.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
        return str(answer["AuthenticationResult"]["IdToken"])

    def close(self) -> None:
        for username in self._usernames:
            self._idp.admin_delete_user(UserPoolId=self.user_pool_id, Username=username)
        self._usernames.clear()


def open_stack(name: str) -> DeployedStack:
    session = boto3.session.Session()
    if session.get_credentials() is None:
        pytest.skip(f"make e2e-aws STACK={name}: no AWS credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID)")
    stack = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    missing = {"ApiUrl", "UserPoolId", "UserPoolClientId"} - set(outputs)
    if missing:
        pytest.skip(f"stack {name} has no {sorted(missing)} outputs (deployed with an external JwtIssuer?)")
    return DeployedStack(
        name=name,
        base_url=outputs["ApiUrl"].rstrip("/"),
        user_pool_id=outputs["UserPoolId"],
        client_id=outputs["UserPoolClientId"],
        _idp=session.client("cognito-idp"),
    )


local_only = pytest.mark.skipif(requested_stack() is not None, reason="needs the local dev server, not AWS")
