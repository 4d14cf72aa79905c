"""The workflow port: start an execution's workflow (by the execution's id), stop it, and answer a
waiting task of it (a `.waitForTaskToken` state) by its task token."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from agent_tasks import aws
from agent_tasks.observability import logger
from agent_tasks.settings import get_settings


def wait_timestamp(moment: datetime) -> str:
    """`moment` as the workflow's Wait state reads it (TimestampPath): UTC, whole seconds, `Z`."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a wait timestamp must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class WorkflowStartError(Exception):
    """The workflow could not be started; `code` is the service's reason (e.g. a throttling code), or
    the error's name when no answer came (`answered` False: a timeout, a lost connection)."""

    def __init__(self, code: str, *, answered: bool = True) -> None:
        super().__init__(code)
        self.code = code
        self.answered = answered


# The code Step Functions answers a StartExecution over the account's token bucket with.
THROTTLING_CODE = "ThrottlingException"


class Workflows(Protocol):
    def start(self, execution_id: str, *, not_before: datetime | None = None) -> None:
        """Start the execution's workflow, named after it: a second start of one name is no error.
        With `not_before` the workflow waits until then before its first step (a slot started ahead)."""

    def stop(self, execution_id: str, *, error: str, cause: str) -> None:
        """Stop the execution's workflow if it is running; never raises for one that is not."""

    def resume(self, task_token: str, output: dict[str, Any]) -> bool:
        """Let the waiting task go on with `output` (SendTaskSuccess); False (logged) when the token is
        no longer waiting (timed out, stopped). Never raises for that."""

    def release(self, task_token: str, *, error: str, cause: str) -> bool:
        """Fail the waiting task with `error` (SendTaskFailure); False when it is no longer waiting."""


class StepFunctionsWorkflows:
    """Step Functions: StartExecution / StopExecution on the settings' state machine."""

    def start(self, execution_id: str, *, not_before: datetime | None = None) -> None:
        payload: dict[str, str] = {"execution_id": execution_id}
        if not_before is not None:
            payload["not_before"] = wait_timestamp(not_before)
        try:
            aws.stepfunctions().start_execution(
                stateMachineArn=get_settings().state_machine_arn,
                name=execution_id,
                input=json.dumps(payload),
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ExecutionAlreadyExists":
                return  # a retry of a start that did happen
            raise WorkflowStartError(code or "error") from error
        except BotoCoreError as error:
            raise WorkflowStartError(type(error).__name__, answered=False) from error

    def stop(self, execution_id: str, *, error: str, cause: str) -> None:
        arn = get_settings().state_machine_arn.replace(":stateMachine:", ":execution:") + f":{execution_id}"
        try:
            aws.stepfunctions().stop_execution(executionArn=arn, error=error, cause=cause)
        except (ClientError, BotoCoreError) as failure:
            # Already ended or never started: the execution's status is what counts.
            code = failure.response.get("Error", {}).get("Code") if isinstance(failure, ClientError) else None
            logger.info("StopExecution did not apply", extra={"execution_id": execution_id, "code": code})

    def resume(self, task_token: str, output: dict[str, Any]) -> bool:
        try:
            aws.stepfunctions().send_task_success(taskToken=task_token, output=json.dumps(output))
        except (ClientError, BotoCoreError) as failure:
            # TaskTimedOut, TaskDoesNotExist, InvalidToken: the wait is over already (never log the token);
            # a lost connection: the wait's own timeout applies the stored decision later.
            code = failure.response.get("Error", {}).get("Code") if isinstance(failure, ClientError) else None
            logger.info("SendTaskSuccess did not apply", extra={"code": code})
            return False
        return True

    def release(self, task_token: str, *, error: str, cause: str) -> bool:
        try:
            aws.stepfunctions().send_task_failure(taskToken=task_token, error=error, cause=cause)
        except (ClientError, BotoCoreError) as failure:
            code = failure.response.get("Error", {}).get("Code") if isinstance(failure, ClientError) else None
            logger.info("SendTaskFailure did not apply", extra={"code": code})
            return False
        return True


@dataclass
class InMemoryWorkflows:
    """A fake: records starts, stops and answered task tokens; `refuse_with` makes every start fail with
    that code; a token in `gone_tokens` is no longer waiting; `answers_to_lose` loses the next answers
    (SendTaskSuccess) as a dropped connection does, the token still waiting. Safe to share between
    threads (the scheduler's ticks and starters run in several at once).

    `throttle(n)` refuses the next n starts as the AWS adapter does when Step Functions answers
    ThrottlingException (its token bucket empty); `fail_next(error, n)` raises `error` from the next n
    starts (a timeout, a crash of the caller)."""

    started: list[str] = field(default_factory=list)
    # execution id -> the not_before its workflow was started with (a slot started ahead)
    waits: dict[str, datetime] = field(default_factory=dict)
    stopped: list[str] = field(default_factory=list)
    resumed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    released: list[tuple[str, str]] = field(default_factory=list)
    gone_tokens: set[str] = field(default_factory=set)
    # Answers (resume) still to be lost, as a dropped connection loses one: the token keeps waiting.
    answers_to_lose: int = 0
    refuse_with: str | None = None
    start_calls: int = 0
    _failures: list[BaseException] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def throttle(self, times: int) -> None:
        """Refuse the next `times` starts with ThrottlingException (as `StepFunctionsWorkflows` does)."""
        self.fail_next(WorkflowStartError(THROTTLING_CODE), times)

    def fail_next(self, error: BaseException, times: int) -> None:
        """Raise `error` from each of the next `times` starts (before anything is started)."""
        with self._lock:
            self._failures.extend([error] * times)

    def clear_failures(self) -> None:
        """The failures still to come are dropped (the token bucket has refilled)."""
        with self._lock:
            self._failures.clear()

    @property
    def failures_left(self) -> int:
        with self._lock:
            return len(self._failures)

    def start(self, execution_id: str, *, not_before: datetime | None = None) -> None:
        with self._lock:
            self.start_calls += 1
            if self._failures:
                raise self._failures.pop(0)
            if self.refuse_with is not None:
                raise WorkflowStartError(self.refuse_with)
            if execution_id not in self.started:
                self.started.append(execution_id)
                if not_before is not None:
                    self.waits[execution_id] = not_before

    def stop(self, execution_id: str, *, error: str, cause: str) -> None:
        with self._lock:
            self.stopped.append(execution_id)

    def resume(self, task_token: str, output: dict[str, Any]) -> bool:
        with self._lock:
            if task_token in self.gone_tokens:
                return False
            if self.answers_to_lose > 0:
                self.answers_to_lose -= 1
                return False
            self.resumed.append((task_token, output))
            self.gone_tokens.add(task_token)
            return True

    def release(self, task_token: str, *, error: str, cause: str) -> bool:
        with self._lock:
            if task_token in self.gone_tokens:
                return False
            self.released.append((task_token, error))
            self.gone_tokens.add(task_token)
            return True
