"""Why a workflow step failed: the errors the state machine sees, and a failure's readable reason."""

from __future__ import annotations

import json
from typing import Any

MAX_ERROR_MESSAGE_CHARS = 2000


class AgentRunFailed(Exception):
    """The agent run ended in an error; its message is the execution's error_message."""


class TransientModelError(Exception):
    """The model was unavailable (429, 5xx, 529, unreachable) even after the SDK's retries; the state
    machine retries RunAgent later, and the transcript makes the retry resume where this one stopped."""


class ExecutionMissing(Exception):
    """The workflow names an execution that is not stored."""


def error_text(error: dict[str, Any]) -> str:
    """A person-readable reason from a Step Functions error ({"Error", "Cause"}), without stack traces."""
    name = str(error.get("Error") or "Error")
    cause = error.get("Cause")
    message = ""
    if isinstance(cause, str) and cause:
        try:
            parsed = json.loads(cause)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            name = str(parsed.get("errorType") or name)
            message = str(parsed.get("errorMessage") or "")
        else:
            message = cause
    # Our own failure's message is the reason as people should read it; others keep their error name.
    if name in (AgentRunFailed.__name__, TransientModelError.__name__) and message:
        return message[:MAX_ERROR_MESSAGE_CHARS]
    return (f"{name}: {message}" if message else name)[:MAX_ERROR_MESSAGE_CHARS]
