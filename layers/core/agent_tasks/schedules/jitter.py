"""Jitter: a schedule's slot starts up to `jitter_seconds` after its time, at an offset fixed by the
task and the slot, so thousands of `0 9 * * *` tasks whose owners allow it spread over the minutes
after 09:00 instead of all starting at once. Deterministic (a hash, not a random draw), so every
tick, retry and preview agrees on a slot's offset; the slot keeps its own time and identity.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

MAX_JITTER_SECONDS = 3600


def jitter_offset(task_id: str, slot: datetime, jitter_seconds: int) -> timedelta:
    """The slot's offset in [0, jitter_seconds] seconds."""
    if not 0 <= jitter_seconds <= MAX_JITTER_SECONDS:
        raise ValueError(f"jitter_seconds must be in [0, {MAX_JITTER_SECONDS}], got {jitter_seconds}")
    if jitter_seconds == 0:
        return timedelta(0)
    key = f"{task_id}#{slot.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}".encode()
    digest = int.from_bytes(hashlib.sha256(key).digest()[:8], "big")
    return timedelta(seconds=digest % (jitter_seconds + 1))


def due_at(task_id: str, slot: datetime, jitter_seconds: int) -> datetime:
    """When the slot is due: its time plus its offset."""
    return slot + jitter_offset(task_id, slot, jitter_seconds)
