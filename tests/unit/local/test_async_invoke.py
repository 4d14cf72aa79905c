"""The local cloud's asynchronous invocations: the function's retry policy, with an injected delay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent_tasks_local.async_invoke import AsyncInvoker, InvokeConfig
from agent_tasks_local.lambdas import LocalFunction

FUNCTION = LocalFunction("NotifierFunction", "notifier-local", Path("."), "app.lambda_handler", 30, 512)


class ScriptedHost:
    """Answers each invocation as scripted: True for an error, False for a success."""

    def __init__(self, errors: list[bool]) -> None:
        self.errors = errors
        self.calls = 0

    def invoke(self, physical_name: str, event: Any) -> tuple[str, bool, str]:
        errored = self.errors[min(self.calls, len(self.errors) - 1)]
        self.calls += 1
        payload = {"errorType": "DeliveryFailed", "errorMessage": "HTTP 503"} if errored else {"ok": True}
        return json.dumps(payload), errored, ""


def _invoker(host: ScriptedHost, retries: int, delays: list[int]) -> AsyncInvoker:
    invoker = AsyncInvoker(host, "us-east-1", "123456789012", retry_delay=lambda n: delays.append(n) or 0.0)  # type: ignore[arg-type]
    invoker._configs[FUNCTION.physical_name] = InvokeConfig(maximum_retry_attempts=retries)
    return invoker


def test_a_failing_invocation_is_retried_as_its_config_says_then_given_up() -> None:
    # Given a function that always fails, with two retries
    host, delays = ScriptedHost([True]), []
    # When an event is invoked asynchronously
    outcome = _invoker(host, 2, delays).invoke(FUNCTION, {"detail": {}})
    # Then it ran three times, waiting the injected delay before each retry, and was given up
    assert (outcome.attempts, outcome.succeeded, host.calls) == (3, False, 3)
    assert delays == [1, 2]
    assert outcome.error == {"errorType": "DeliveryFailed", "errorMessage": "HTTP 503"}


def test_a_retry_that_succeeds_ends_the_attempts() -> None:
    host, delays = ScriptedHost([True, False]), []
    outcome = _invoker(host, 2, delays).invoke(FUNCTION, {"detail": {}})
    assert (outcome.attempts, outcome.succeeded) == (2, True)


def test_no_retries_means_one_attempt() -> None:
    host, delays = ScriptedHost([True]), []
    outcome = _invoker(host, 0, delays).invoke(FUNCTION, {"detail": {}})
    assert (outcome.attempts, outcome.succeeded, delays) == (1, False, [])
