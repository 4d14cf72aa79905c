"""The AWS limits the local cloud enforces where moto does not, each with the page it comes from.

A limit is checked where AWS checks it: the API front (payload, integration timeout), the
in-process Lambda host (payload, each function's Timeout from the template), the Step Functions
side (StartExecution input, each task's input and output). DynamoDB's key sizes moto enforces
itself (tests/integration/test_limits.py holds it to them).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Limit:
    what: str
    value: float
    source: str


# Step Functions: "Maximum input or output size for a task, state, or execution: 256 KiB of data
# as a UTF-8 encoded string"; it applies to StartExecution's input too.
STATE_PAYLOAD = Limit(
    "Step Functions task/state/execution input or output (bytes, UTF-8)",
    256 * 1024,
    "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-task-executions",
)
# Lambda: "Invocation payload (request and response): 6 MB each for synchronous invocations".
LAMBDA_SYNC_PAYLOAD = Limit(
    "Lambda synchronous invocation request or response (bytes)",
    6 * 1024 * 1024,
    "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
)
# Lambda stops a function at its configured Timeout; the invocation's error is Sandbox.Timedout.
LAMBDA_TIMEOUT_ERROR = "Sandbox.Timedout"
LAMBDA_TIMEOUT_SOURCE = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html"
# HTTP API: "Maximum integration timeout: 30 seconds" (not 29: that is REST APIs), "Payload size: 10 MB".
API_INTEGRATION_TIMEOUT = Limit(
    "HTTP API integration timeout (seconds)",
    30,
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html",
)
API_PAYLOAD = Limit(
    "HTTP API request payload (bytes)",
    10 * 1024 * 1024,
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html",
)
# DynamoDB: partition key value 2048 bytes, sort key value 1024 bytes (moto enforces both).
DYNAMODB_PARTITION_KEY = Limit(
    "DynamoDB partition key value (bytes)",
    2048,
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-partition-sort-keys",
)
DYNAMODB_SORT_KEY = Limit(
    "DynamoDB sort key value (bytes)",
    1024,
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-partition-sort-keys",
)


def size_of(payload: Any) -> int:
    """A payload's size as AWS counts it: the UTF-8 bytes of its JSON (or of the text itself)."""
    if isinstance(payload, bytes):
        return len(payload)
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return len(text.encode("utf-8"))


def over(limit: Limit, payload: Any) -> bool:
    return size_of(payload) > limit.value


def state_data_exceeded(task: str, what: str, payload: Any) -> dict[str, str]:
    """The error a Step Functions task fails with when its input or result is too large (AWS's words)."""
    verb = "returned a result" if what == "result" else "got an input"
    return {
        "errorType": "States.DataLimitExceeded",
        "errorMessage": f"The state/task '{task}' {verb} "
        f"with a size exceeding the maximum number of bytes service limit ({size_of(payload)} bytes > "
        f"{int(STATE_PAYLOAD.value)}: {STATE_PAYLOAD.source})",
    }


class StartExecutionLimit:
    """WSGI middleware before moto: StartExecution's input over the state payload limit is refused
    as AWS refuses it (a 400 ValidationException), before any workflow starts."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("HTTP_X_AMZ_TARGET") != "AWSStepFunctions.StartExecution":
            return self._app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            execution_input = json.loads(body or b"{}").get("input", "")
        except ValueError:
            execution_input = ""
        if not over(STATE_PAYLOAD, execution_input):
            return self._app(environ, start_response)
        message = (
            "1 validation error detected: Value at 'input' failed to satisfy constraint: "
            f"Member must have length less than or equal to {int(STATE_PAYLOAD.value)}"
        )
        answer = json.dumps({"__type": "ValidationException", "message": message}).encode()
        start_response(
            "400 Bad Request",
            [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(answer)))],
        )
        return [answer]
