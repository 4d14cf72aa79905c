"""Waiting for work another thread or process does: poll a condition, bounded, never a fixed sleep."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

# A bound for a failing test, not a wait: generous, since a loaded 2-core CI machine runs whole flows slowly.
POLL_LIMIT_SECONDS = 60.0


def wait_until(condition: Callable[[], Any], *, what: str, limit_seconds: float = POLL_LIMIT_SECONDS) -> Any:
    """Poll `condition` until it returns something truthy (and return it); fail after `limit_seconds`."""
    deadline = time.monotonic() + limit_seconds
    pause = threading.Event()
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        pause.wait(0.02)
    raise AssertionError(f"timed out waiting for {what}")
