"""Webhook signatures: what we send and what a receiver checks.

X-AgentTasks-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}." + body)>
X-AgentTasks-Event-Id: <event id>          (the same on every retry of one event)
X-AgentTasks-Delivery-Attempt: <1, 2, ...>
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "X-AgentTasks-Signature"
EVENT_ID_HEADER = "X-AgentTasks-Event-Id"
EVENT_TYPE_HEADER = "X-AgentTasks-Event-Type"
ATTEMPT_HEADER = "X-AgentTasks-Delivery-Attempt"
USER_AGENT = "AgentTasks-Webhook/1.0"


def new_webhook_secret() -> str:
    """A fresh signing secret for a task's webhook (show it to the owner once, store it)."""
    return secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of `f"{timestamp}."` + body, keyed with the webhook secret."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> bool:
    """What a receiver runs: is `header` a valid, fresh signature of `body` under `secret`?

    `header` is the X-AgentTasks-Signature value; several `v1=` entries are accepted (any one
    matching is enough), so a sender can sign with an old and a new secret while rotating.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, timestamp, body)
    # bytes: compare_digest refuses non-ASCII str, and the header comes from outside
    return any(hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in candidates)
