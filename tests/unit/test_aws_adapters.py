"""The AWS adapters of the workflow and event ports against moto: what AWS answers becomes what the
port promises. Tests of the scheduler and the services use the in-memory fakes instead, which raise
and record the same things (the fakes are checked against the adapters here)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from agent_tasks import aws as aws_clients
from agent_tasks.adapters import EventBridgeBus, InMemoryWorkflows, StepFunctionsWorkflows, WorkflowStartError
from agent_tasks.services.executions import THROTTLING_CODES
from tests.support.schedules import use_pass_state_machine, workflow_names

STATES = "https://states.us-east-1.amazonaws.com"


@pytest.fixture
def state_machine(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """A moto state machine named by STATE_MACHINE_ARN (moto does not run it)."""
    return use_pass_state_machine(monkeypatch)


@pytest.fixture
def start_answers(
    state_machine: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[BaseException], None]]:
    """`answer(error)`: every StartExecution fails at the HTTP layer with `error`. The adapter gets a
    client without botocore's own retries (they would wait seconds between attempts)."""
    client = boto3.client(
        "stepfunctions", region_name="us-east-1", config=Config(retries={"max_attempts": 1})
    )
    monkeypatch.setattr(aws_clients, "stepfunctions", lambda: client)
    handlers: list[Any] = []

    def answer(error: BaseException) -> None:
        def fail(**_kwargs: Any) -> None:
            raise error

        client.meta.events.register("before-send.sfn.StartExecution", fail)
        handlers.append(fail)

    yield answer
    for handler in handlers:
        client.meta.events.unregister("before-send.sfn.StartExecution", handler)


def _raised(start: Callable[[], None]) -> WorkflowStartError:
    with pytest.raises(WorkflowStartError) as raised:
        start()
    return raised.value


def test_a_throttled_start_raises_what_the_fake_raises_when_throttled(
    start_answers: Callable[[BaseException], None],
) -> None:
    # Given Step Functions answering StartExecution with ThrottlingException (its token bucket empty)
    start_answers(
        ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "StartExecution")
    )
    # When the adapter starts a workflow
    error = _raised(lambda: StepFunctionsWorkflows().start("exec-1"))
    # Then it raises the port's error naming the code, an answer (not a lost connection), which the
    # services treat as throttling
    assert (error.code, error.answered) == ("ThrottlingException", True)
    assert error.code in THROTTLING_CODES
    # And the fake workflow port, throttled, raises the same
    fake = InMemoryWorkflows()
    fake.throttle(1)
    faked = _raised(lambda: fake.start("exec-1"))
    assert (type(faked), faked.code, faked.answered) == (type(error), error.code, error.answered)
    assert fake.started == []


@pytest.mark.parametrize(
    ("failure", "code", "answered"),
    [
        (ReadTimeoutError(endpoint_url=STATES), "ReadTimeoutError", False),
        (EndpointConnectionError(endpoint_url=STATES), "EndpointConnectionError", False),
        (
            ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "StartExecution"),
            "AccessDeniedException",
            True,
        ),
    ],
    ids=["read-timeout", "no-connection", "refused"],
)
def test_a_failed_start_names_its_reason_and_whether_aws_answered(
    start_answers: Callable[[BaseException], None], failure: BaseException, code: str, answered: bool
) -> None:
    # Given StartExecution failing with a timeout, a lost connection or a refusal
    start_answers(failure)
    # When the adapter starts a workflow, Then the port's error says why and whether an answer came
    error = _raised(lambda: StepFunctionsWorkflows().start("exec-2"))
    assert (error.code, error.answered) == (code, answered)


def test_a_start_names_the_workflow_by_the_execution_and_a_second_start_is_no_error(
    state_machine: str,
) -> None:
    # Given the adapter on a moto state machine
    workflows = StepFunctionsWorkflows()
    # When one execution's workflow is started twice (a retry of a start that did happen)
    workflows.start("exec-3")
    workflows.start("exec-3")
    # Then there is one workflow, named by the execution's id, given the id as its input
    assert workflow_names(state_machine) == ["exec-3"]
    arn = state_machine.replace(":stateMachine:", ":execution:") + ":exec-3"
    described = boto3.client("stepfunctions", region_name="us-east-1").describe_execution(executionArn=arn)
    assert json.loads(described["input"]) == {"execution_id": "exec-3"}


def test_stop_aborts_a_running_workflow_and_never_raises_for_one_that_is_not(state_machine: str) -> None:
    # Given a started workflow
    workflows = StepFunctionsWorkflows()
    workflows.start("exec-4")
    # When it is stopped, and a workflow never started is stopped too
    workflows.stop("exec-4", error="Cancelled", cause="cancelled by its owner")
    workflows.stop("never-started", error="Cancelled", cause="cancelled by its owner")
    # Then the first is aborted, and the second raised nothing
    arn = state_machine.replace(":stateMachine:", ":execution:") + ":exec-4"
    described = boto3.client("stepfunctions", region_name="us-east-1").describe_execution(executionArn=arn)
    assert described["status"] == "ABORTED"


def test_an_event_is_published_from_the_service_and_matches_a_rule_on_its_type(aws: dict[str, str]) -> None:
    # Given a rule on the default bus sending SchedulePaused events from the service to a queue
    sqs = boto3.client("sqs", region_name="us-east-1")
    events = boto3.client("events", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="paused-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pattern = {"source": ["agent-tasks"], "detail-type": ["SchedulePaused"]}
    events.put_rule(Name="paused", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="paused", Targets=[{"Id": "queue", "Arn": queue_arn}])
    # When the adapter publishes one, and an event of another type
    outcome = EventBridgeBus().publish("SchedulePaused", json.dumps({"task_id": "task-1"}))
    EventBridgeBus().publish("ExecutionCompleted", json.dumps({"execution_id": "exec-5"}))
    # Then it was delivered, from the service's source, and only the SchedulePaused one matched
    assert outcome.delivered is True
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    [event] = [json.loads(message["Body"]) for message in messages]
    assert (event["source"], event["detail-type"], event["detail"]) == (
        "agent-tasks",
        "SchedulePaused",
        {"task_id": "task-1"},
    )
