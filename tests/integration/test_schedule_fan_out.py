"""The fan-out in the local cloud: one tick claims many due slots, the starter function starts them
from the start queue (SQS event source, delivered by the local cloud's pollers), none lost or doubled.

100 slots in `make test`; `make bench` runs the issue's 1,000 (FAN_OUT_SLOTS=1000). A transaction no
longer costs the whole table (moto_bridge.transactions_at_item_cost), so a slot costs the same however
many there are, but the local cloud serves DynamoDB one request at a time at 10-50 ms each (moto's
parsing and checks; AWS answers in a few ms): the tick's two requests per due task, which fit its 55 s
in AWS many times over (the scale model in `make bench`), outlast it here past a few hundred tasks. So
the local tick is given the time the emulation needs (`local_tick_time`); what is tested is that no
slot is lost or doubled, not how fast.

The starts go to a do-nothing state machine with moto's interpreter switched off for the test (it
costs about 0.3 s of CPU per start), so the test measures the scheduler and the starters, not
1,000 workflow runs.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from agent_tasks.aws import reset_clients
from agent_tasks.schedules import slot_execution_id
from agent_tasks.settings import get_settings
from agent_tasks_local import moto_bridge
from tests.support.schedules import (
    batch_put_tasks,
    scheduled_task_model,
    use_pass_state_machine,
    workflow_names,
)

SLOTS = int(os.environ.get("FAN_OUT_SLOTS", "100"))


@pytest.fixture
def pass_machine(local_cloud: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    moto_bridge.enable_state_machine_execution(local_cloud.moto_endpoint, enabled=False)
    # The starter's role may start the template's state machine only (IAM is enforced locally):
    # the test grants it the stand-in for as long as it is used, as the template grants the real one.
    iam = boto3.client("iam")
    role = str(local_cloud.stack.resources["StarterFunctionRole"])
    # Runs of the pass machine never end: the heavy owner's runs must not be queued by its per-user
    # concurrency limit (services/concurrency.py), or this would test the queue, not the fan-out.
    monkeypatch.setenv("MAX_CONCURRENT_RUNS_PER_USER", "1000")
    try:
        arn = use_pass_state_machine(monkeypatch)
        statement = {"Effect": "Allow", "Action": "states:StartExecution", "Resource": arn}
        iam.put_role_policy(
            RoleName=role,
            PolicyName="test-pass-machine",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )
        yield arn
    finally:
        with contextlib.suppress(iam.exceptions.NoSuchEntityException):
            iam.delete_role_policy(RoleName=role, PolicyName="test-pass-machine")
        moto_bridge.enable_state_machine_execution(local_cloud.moto_endpoint)
        monkeypatch.undo()
        get_settings.cache_clear()
        reset_clients()


@pytest.fixture
def local_tick_time(local_cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scheduler function's local timeout: the template's, or 0.25 s a slot if that is more."""
    template_timeout = local_cloud.host.timeout_of

    def timeout_of(function: Any, event: Any) -> float:
        seconds = float(template_timeout(function, event))
        return max(seconds, SLOTS * 0.25) if function.logical_id == "SchedulerFunction" else seconds

    monkeypatch.setattr(local_cloud.host, "timeout_of", timeout_of)


def test_one_tick_starts_every_due_slot_none_lost_or_doubled(
    local_cloud: Any, pass_machine: str, local_tick_time: None
) -> None:
    # Given SLOTS tasks due in the coming minute: half one owner's, half 50 other owners'
    now = datetime.now(UTC)
    slot = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    cron = f"{slot.minute} {slot.hour} * * *"
    owners = ["heavy"] * (SLOTS // 2) + [f"light-{n % 50}" for n in range(SLOTS // 2)]
    # (overlap allowed: the overlap check's query is what moto makes slow, growing with the table)
    tasks = [scheduled_task_model(cron, created=now, owner=owner, overlap_policy="allow") for owner in owners]
    assert {task.next_run_at for task in tasks} == {slot}
    batch_put_tasks(tasks)
    # When the scheduler's rule fires for that minute, and the start queue is drained
    summary = local_cloud.rules.fire("SchedulerFunctionTick", at=slot)
    local_cloud.queues.drain("StarterFunction", pollers=1)
    # Then the tick claimed and queued every slot, and started none itself
    # (another test of this worker's local cloud may have left a task of its own due as well)
    assert summary["due"] == summary["dispatched"] >= SLOTS, summary
    assert summary["errors"] == 0, summary
    # And every slot has exactly one workflow, named by the slot's execution id
    names = Counter(workflow_names(pass_machine))
    expected = {slot_execution_id(task.id, slot) for task in tasks}
    assert expected <= set(names)
    assert {names[name] for name in expected} == {1}
    # And nothing is left claimed, queued or dead-lettered
    table = boto3.client("dynamodb")
    claimed = [
        task.id
        for task in tasks[:: SLOTS // 20]
        if "pending_slot"
        in table.get_item(
            TableName=get_settings().table_name, Key={"PK": {"S": f"TASK#{task.id}"}, "SK": {"S": "TASK"}}
        )["Item"]
    ]
    assert claimed == []
    sqs = boto3.client("sqs")
    for logical_id in ("StartQueue", "StartDeadLetterQueue"):
        attributes = sqs.get_queue_attributes(
            QueueUrl=local_cloud.stack.resources[logical_id],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        assert attributes == {
            "ApproximateNumberOfMessages": "0",
            "ApproximateNumberOfMessagesNotVisible": "0",
        }
