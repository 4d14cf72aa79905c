"""Lambda's limits in the in-process host: each function's Timeout, and the 6 MB payloads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import ReadOnlyCredentials

from agent_tasks_local import limits
from agent_tasks_local.lambdas import FunctionHost, LocalFunction
from tests.support.polling import wait_until

HANDLER = """
import threading

release = threading.Event()
seen = []


def lambda_handler(event, context):
    if event.get("block"):
        release.wait(30)
        seen.append(__import__("agent_tasks_local.iam", fromlist=["_current"])._current.get().credentials())
        return {"after": "release"}
    return {"echo": "x" * event.get("answer_bytes", 0)}
"""


@pytest.fixture
def host(tmp_path: Path) -> Iterator[tuple[FunctionHost, Any]]:
    (tmp_path / "app.py").write_text(HANDLER)
    host = FunctionHost("us-east-1", "123456789012")
    name = f"limits-{tmp_path.name}"
    host.register(LocalFunction("LimitsFunction", name, tmp_path, "app.lambda_handler", 30, 128))
    yield host, name
    module = __import__("sys").modules.get("local_lambda_LimitsFunction")
    if module is not None:
        module.release.set()
        __import__("sys").modules.pop("local_lambda_LimitsFunction")


def test_a_function_past_its_timeout_fails_as_lambda_fails_it(
    host: tuple[FunctionHost, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a function whose Timeout is (made) 50 ms, and an invocation that outlives it
    functions, name = host
    monkeypatch.setattr(functions, "timeout_of", lambda function, event: 0.05)
    functions.sign_with({name: ReadOnlyCredentials("AKIAROLE", "secret", "token")})
    # When it is invoked
    payload, errored, _ = functions.invoke(name, {"block": True})
    # Then the invocation fails with Lambda's timeout error
    assert errored
    assert json.loads(payload)["errorType"] == limits.LAMBDA_TIMEOUT_ERROR == "Sandbox.Timedout"
    assert "Task timed out after 0.05 seconds" in json.loads(payload)["errorMessage"]
    # And the handler left running can no longer reach AWS with the function's role
    module = __import__("sys").modules["local_lambda_LimitsFunction"]
    module.release.set()
    wait_until(lambda: module.seen, what="the released handler")
    assert module.seen[0].access_key == "revoked-session"


def test_a_request_over_6_mb_is_refused(host: tuple[FunctionHost, Any]) -> None:
    functions, name = host
    event = json.dumps({"pad": "x" * int(limits.LAMBDA_SYNC_PAYLOAD.value)})
    payload, errored, _ = functions.invoke(name, event)
    assert errored
    assert json.loads(payload)["errorType"] == "RequestEntityTooLargeException"


def test_a_response_over_6_mb_fails_the_invocation(host: tuple[FunctionHost, Any]) -> None:
    functions, name = host
    # Given a handler answering just over 6 MB / When invoked / Then Lambda's error, not the answer
    payload, errored, _ = functions.invoke(name, {"answer_bytes": int(limits.LAMBDA_SYNC_PAYLOAD.value)})
    assert errored
    assert json.loads(payload)["errorType"] == "Function.ResponseSizeTooLarge"
    # And one just under passes
    payload, errored, _ = functions.invoke(name, {"answer_bytes": 1000})
    assert not errored
    assert json.loads(payload) == {"echo": "x" * 1000}


def test_every_limit_names_its_aws_source() -> None:
    for limit in (
        limits.STATE_PAYLOAD,
        limits.LAMBDA_SYNC_PAYLOAD,
        limits.API_INTEGRATION_TIMEOUT,
        limits.API_PAYLOAD,
        limits.DYNAMODB_PARTITION_KEY,
        limits.DYNAMODB_SORT_KEY,
    ):
        assert limit.source.startswith("https://docs.aws.amazon.com/")
