"""The workflow port: start an execution's workflow (by the execution's id) and stop it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError

from agent_tasks import aws
from agent_tasks.observability import logger
from agent_tasks.settings import get_settings


class WorkflowStartError(Exception):
    """The workflow could not be started; `code` is the service's reason (e.g. a throttling code), or
    the error's name when no answer came (`answered` False: a timeout, a lost connection)."""

    def __init__(self, code: str, *, answered: bool = True) -> None:
        super().__init__(code)
        self.code = code
        self.answered = answered


class Workflows(Protocol):
    def start(self, execution_id: str) -> None:
        """Start the execution's workflow, named after it: a second start of one name is no error."""

    def stop(self, execution_id: str, *, error: str, cause: str) -> None:
        """Stop the execution's workflow if it is running; never raises for one that is not."""


class StepFunctionsWorkflows:
    """Step Functions: StartExecution / StopExecution on the settings' state machine."""

    def start(self, execution_id: str) -> None:
        try:
            aws.stepfunctions().start_execution(
                stateMachineArn=get_settings().state_machine_arn,
                name=execution_id,
                input=json.dumps({"execution_id": execution_id}),
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


@dataclass
class InMemoryWorkflows:
    """A fake: records starts and stops; `refuse_with` makes every start fail with that code."""

    started: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    refuse_with: str | None = None

    def start(self, execution_id: str) -> None:
        if self.refuse_with is not None:
            raise WorkflowStartError(self.refuse_with)
        if execution_id not in self.started:
            self.started.append(execution_id)

    def stop(self, execution_id: str, *, error: str, cause: str) -> None:
        self.stopped.append(execution_id)
