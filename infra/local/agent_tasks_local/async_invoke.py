"""Asynchronous Lambda invocations as AWS makes them for EventBridge rule targets: the function's
event-invoke config (template `EventInvokeConfig`) decides how many times a failed invocation is
retried (`MaximumRetryAttempts`, 2 when not set), and where the event goes after the last failure
(`DestinationConfig.OnFailure`: an SQS queue gets Lambda's on-failure record, sent with the
function's own role, as Lambda does).

AWS waits about a minute, then two, between attempts; here `retry_delay(n)` (seconds before
retry n) is 0 by default, so tests never sleep. `wait_idle` lets a test wait for in-flight
invocations (with a bound) instead of sleeping.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

from agent_tasks_local.iam import Session, acting_as
from agent_tasks_local.lambdas import FunctionHost, LocalFunction

DEFAULT_RETRIES = 2  # Lambda's default for asynchronous invocations


@dataclass(frozen=True)
class InvokeConfig:
    maximum_retry_attempts: int = DEFAULT_RETRIES
    on_failure: str | None = None  # a destination ARN (SQS queues here)


@dataclass
class AsyncOutcome:
    """One asynchronous invocation, after its last attempt."""

    function: str  # logical id
    event: Any
    attempts: int
    succeeded: bool
    error: dict[str, Any] | None = None
    sent_to: str | None = None  # the on-failure destination that got it


@dataclass
class AsyncInvoker:
    host: FunctionHost
    region: str
    account: str
    credentials: Callable[[str], Any] = field(default=lambda _name: None)  # physical name -> role session
    retry_delay: Callable[[int], float] = field(default=lambda _retry: 0.0)
    outcomes: list[AsyncOutcome] = field(default_factory=list)
    _configs: dict[str, InvokeConfig] = field(default_factory=dict, init=False)
    _in_flight: int = field(default=0, init=False)
    _idle: threading.Condition = field(default_factory=threading.Condition, init=False)

    def config_of(self, function: LocalFunction) -> InvokeConfig:
        if function.physical_name not in self._configs:
            found: dict[str, Any]
            try:
                found = boto3.client("lambda", region_name=self.region).get_function_event_invoke_config(
                    FunctionName=function.physical_name
                )  # type: ignore[assignment]
            except ClientError:
                found = {}
            destination = found.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            self._configs[function.physical_name] = InvokeConfig(
                maximum_retry_attempts=int(found.get("MaximumRetryAttempts", DEFAULT_RETRIES)),
                on_failure=destination or None,
            )
        return self._configs[function.physical_name]

    def submit(self, function: LocalFunction, event: Any) -> None:
        """Invoke in the background, as Lambda's async queue does (the caller never waits)."""
        with self._idle:
            self._in_flight += 1
        threading.Thread(target=self._run, args=(function, event), daemon=True, name="async-invoke").start()

    def _run(self, function: LocalFunction, event: Any) -> None:
        try:
            self.invoke(function, event)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def invoke(self, function: LocalFunction, event: Any) -> AsyncOutcome:
        """Invoke until it succeeds or its retries are spent; then the on-failure destination."""
        config = self.config_of(function)
        request_id = str(uuid.uuid4())
        attempts = 0
        error: dict[str, Any] | None = None
        for attempt in range(1 + max(config.maximum_retry_attempts, 0)):
            if attempt:
                delay = self.retry_delay(attempt)
                if delay > 0:
                    time.sleep(delay)
            attempts += 1
            payload, errored, _log = self.host.invoke(function.physical_name, event)
            if not errored:
                outcome = AsyncOutcome(function.logical_id, event, attempts, True)
                self.outcomes.append(outcome)
                return outcome
            error = json.loads(payload or "{}")
            print(
                f"[local-cloud] async {function.logical_id} attempt {attempts} failed: "
                f"{error.get('errorType')}: {str(error.get('errorMessage'))[:200]}",
                flush=True,
            )
        outcome = AsyncOutcome(function.logical_id, event, attempts, False, error)
        if config.on_failure:
            self._send_on_failure(function, config.on_failure, event, request_id, attempts, error or {})
            outcome.sent_to = config.on_failure
        self.outcomes.append(outcome)
        return outcome

    def _send_on_failure(
        self,
        function: LocalFunction,
        destination: str,
        event: Any,
        request_id: str,
        attempts: int,
        error: dict[str, Any],
    ) -> None:
        if ":sqs:" not in destination:
            print(f"[local-cloud] on-failure destination {destination} is not a queue: dropped", flush=True)
            return
        arn = f"arn:aws:lambda:{self.region}:{self.account}:function:{function.physical_name}"
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {
                "requestId": request_id,
                "functionArn": arn,
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {k: v for k, v in error.items() if k != "stackTrace"},
        }
        name = destination.rsplit(":", 1)[-1]
        sqs = boto3.client("sqs", region_name=self.region)
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        # Lambda sends the record with the function's execution role (which must allow it).
        with acting_as(Session(self.credentials(function.physical_name))):
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record, default=str))

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait (at most `timeout` seconds) until no asynchronous invocation is running."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)
