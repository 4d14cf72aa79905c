"""Who asks: the verified user id and the request it came in (for audit events and logs)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: str
    request_id: str | None = None
