"""The local development issuer: an RSA key kept under .local-cloud/, tokens minted for a user
name, and verification as API Gateway's JWT authorizer does it (signature, issuer, audience, expiry)."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

DEV_ISSUER = "https://dev-issuer.agent-tasks.local"
DEV_AUDIENCE = "agent-tasks-local"
DEFAULT_TTL_SECONDS = 12 * 3600
_PROJECT_ROOT = Path(__file__).resolve().parents[3]


def state_dir() -> Path:
    """Where the local cloud keeps what must outlive a process (the dev signing key). Here, not in
    `cloud`, so `agent-tasks token` and `login --local` start without importing moto."""
    return Path(os.environ.get("AGENT_TASKS_LOCAL_DIR", _PROJECT_ROOT / ".local-cloud"))


class TokenRejectedError(Exception):
    """The token would not pass the HTTP API authorizer; the message says why (logged, never sent)."""


@dataclass(frozen=True)
class DevIssuer:
    private_key: rsa.RSAPrivateKey
    issuer: str = DEV_ISSUER
    audience: str = DEV_AUDIENCE

    @classmethod
    def load_or_create(cls, state_dir: Path) -> DevIssuer:
        """One key per checkout, so `agent-tasks token` and the running server agree."""
        key_path = state_dir / "dev-signing-key.pem"
        if not key_path.exists():
            state_dir.mkdir(parents=True, exist_ok=True)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
        loaded: PrivateKeyTypes = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise TypeError(f"{key_path} is not an RSA key")
        return cls(private_key=loaded)

    def mint(
        self, user: str, *, ttl_seconds: int = DEFAULT_TTL_SECONDS, audience: str | None = None, **claims: Any
    ) -> str:
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": audience or self.audience,
            "sub": user,
            "username": user,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_seconds,
            "jti": str(uuid.uuid4()),
            "token_use": "access",
            **claims,
        }
        return jwt.encode(payload, self.private_key, algorithm="RS256", headers={"kid": "dev"})

    def verify(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.private_key.public_key(),
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenRejectedError(str(exc)) from exc
        return claims


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise TokenRejectedError("no Authorization header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRejectedError("Authorization is not a bearer token")
    return token.strip()
