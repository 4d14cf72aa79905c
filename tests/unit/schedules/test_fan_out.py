"""The scheduler's fan-out against moto (table, start queue) and the fake workflow port: the tick
claims and queues, starter workers start.

Worker crash, duplicate delivery and throttled starts keep the tick's guarantees: one execution
per slot, no slot lost.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from agent_tasks.adapters import InMemoryWorkflows
from agent_tasks.schedules import slot_execution_id
from agent_tasks.schedules.quotas import PLAN_LEAD_SECONDS, BucketQuota
from agent_tasks.services import executions as execution_service
from agent_tasks.services.scheduler import tick
from agent_tasks.services.slot_starts import ExecutionStart, QueueDispatcher, SlotStart, start_message
from agent_tasks.settings import get_settings
from tests.support.fixtures import LambdaClient, load_function
from tests.support.schedules import (
    CALLER,
    OWNER,
    executions_of,
    fail_once,
    scheduled_task,
    serialize_moto_requests,
    stored_item,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
RULE = "agent-tasks-scheduler-tick-test"


@pytest.fixture
def queue(workflows: InMemoryWorkflows, monkeypatch: pytest.MonkeyPatch) -> str:
    """A moto start queue, named by START_QUEUE_URL (moto requests made atomic: workers run in threads)."""
    serialize_moto_requests(monkeypatch)
    url = boto3.client("sqs", region_name="us-east-1").create_queue(
        QueueName="agent-tasks-starts-test", Attributes={"VisibilityTimeout": "60"}
    )["QueueUrl"]
    monkeypatch.setenv("START_QUEUE_URL", url)
    get_settings.cache_clear()
    return url


class Starter:
    """The starter function fed by the queue as Lambda's event source would: a batch of up to 10
    received messages; the ones not reported as failed are deleted."""

    def __init__(self, queue_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.queue_url = queue_url
        self.module = load_function("starter")
        self.invoke = LambdaClient(self.module, "starter")
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.sleeps: list[float] = []
        monkeypatch.setattr(self.module, "clock", lambda: T0 + timedelta(seconds=3))
        monkeypatch.setattr(self.module, "sleep", self.sleeps.append)

    def receive(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        return messages

    def run(self, messages: list[dict[str, Any]]) -> list[str]:
        """Invoke the function with these messages; delete the ones it did not fail; the failed ids."""
        event = {"Records": [_record(message) for message in messages]}
        result = self.invoke(event)
        failed = [failure["itemIdentifier"] for failure in result["batchItemFailures"]]
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return failed

    def drain(self) -> int:
        handled = 0
        while messages := self.receive():
            self.run(messages)
            handled += len(messages)
        return handled


def _record(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:agent-tasks-starts-test",
        "awsRegion": "us-east-1",
    }


@pytest.fixture
def starter(queue: str, monkeypatch: pytest.MonkeyPatch) -> Starter:
    return Starter(queue, monkeypatch)


def _queued_tick(now: datetime, queue_url: str, workers: int = 4) -> Any:
    return tick(now, rule=RULE, dispatcher=QueueDispatcher(queue_url), workers=workers)


# -- the tick claims and queues; the workers start ---------------------------------------------------


def test_the_tick_only_claims_and_queues_and_the_workers_start_each_slot_once(
    workflows: InMemoryWorkflows, starter: Starter
) -> None:
    # Given 23 tasks due at 09:00
    tasks = [scheduled_task("0 9 * * *", created=T0 - MINUTE) for _ in range(23)]
    # When the 09:00 tick runs with the start queue
    summary = _queued_tick(T0, starter.queue_url)
    # Then it claimed and queued every slot and started none itself
    assert (summary.due, summary.dispatched, summary.started, summary.errors) == (23, 23, 0, 0)
    assert all(stored_item(t.id)["pending_slot"]["slot"] == "2026-03-02T09:00:00Z" for t in tasks)
    assert workflows.started == []
    # When the workers take the queue
    assert starter.drain() == 23
    # Then each slot has one execution and one workflow, and every claim is finished
    for task in tasks:
        [execution] = executions_of(task.id)
        assert execution.id == slot_execution_id(task.id, T0)
        assert execution.trigger_metadata == {"slot": T0.isoformat(), "rule": RULE, "skipped_missed_slots": 0}
        assert "pending_slot" not in stored_item(task.id)
    assert sorted(workflows.started) == sorted(slot_execution_id(t.id, T0) for t in tasks)


def test_the_queue_order_interleaves_owners(workflows: InMemoryWorkflows, queue: str) -> None:
    # Given one owner with 12 slots due at 09:00 and three others with 2 each
    heavy = [scheduled_task("0 9 * * *", created=T0 - MINUTE, owner="heavy") for _ in range(12)]
    light = [
        scheduled_task("0 9 * * *", created=T0 - MINUTE, owner=f"light-{n}")
        for n in range(3)
        for _ in range(2)
    ]
    # When the tick queues them (claims one at a time, so the order is exactly the tick's)
    _queued_tick(T0, queue, workers=1)
    # Then every light owner's slots are queued within the first two rounds, not after the heavy 12
    sqs = boto3.client("sqs", region_name="us-east-1")
    owners: list[str] = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        owners.extend(json.loads(m["Body"])["owner_id"] for m in batch)
        for message in batch:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert len(owners) == len(heavy) + len(light)
    assert owners[:8].count("heavy") == 2
    assert set(owners[8:]) == {"heavy"}


def test_the_tick_paces_starts_past_the_burst_and_the_starter_waits_out_the_rest(
    workflows: InMemoryWorkflows, starter: Starter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 5 slots due at 09:00 and a start quota of 2 at once, then 1 a second
    tasks = [scheduled_task("0 9 * * *", created=T0 - MINUTE) for _ in range(5)]
    wall = T0.timestamp() + 1.0  # the tick's wall clock, a second after 09:00
    dispatcher = QueueDispatcher(starter.queue_url, quota=BucketQuota(2, 1), clock=lambda: wall)
    sent = _record_sends(monkeypatch)
    # When the tick queues them (one claim at a time: the queue order is the plan's)
    tick(T0, rule=RULE, dispatcher=dispatcher, workers=1)
    # Then the burst's two go at once; each later one is held back (whole seconds in the queue, the
    # exact instant in the message) until its token is due
    lead = PLAN_LEAD_SECONDS
    assert [(json.loads(body).get("not_before"), delay) for body, delay in sent] == [
        (None, 0),
        (None, 0),
        (round(wall + lead + 1, 3), 1),
        (round(wall + lead + 2, 3), 2),
        (round(wall + lead + 3, 3), 3),
    ]
    # And the starter, given a held-back message, waits out the fraction of a second the queue left
    message = SlotStart.model_validate_json(sent[2][0])
    slept: list[float] = []
    handed_at = datetime.fromtimestamp(wall + 1, tz=UTC)  # sent at `wall`, after its DelaySeconds (1)
    assert start_message(message, handed_at, time_left=lambda: 20.0, sleep=slept.append) == "started"
    assert slept == [pytest.approx(lead)]
    assert message.task_id in {task.id for task in tasks}


def _record_sends(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """(body, DelaySeconds) of every message the start queue is sent, still sending them."""
    from agent_tasks import start_queue

    sent: list[tuple[str, int]] = []
    original = start_queue.send

    def send(queue_url: str, bodies: list[str], *, delays: list[int] | None = None) -> None:
        sent.extend(zip(bodies, delays or [0] * len(bodies), strict=True))
        original(queue_url, bodies, delays=delays)

    monkeypatch.setattr(start_queue, "send", send)
    return sent


# -- duplicate delivery ------------------------------------------------------------------------------


def test_a_duplicate_delivery_starts_nothing_more(workflows: InMemoryWorkflows, starter: Starter) -> None:
    # Given a claimed, queued slot
    task = scheduled_task("0 9 * * *", created=T0 - MINUTE)
    _queued_tick(T0, starter.queue_url)
    [message] = starter.receive()
    # When the same message is delivered twice (at least once delivery), then once more after it ran
    assert starter.run([message, {**message, "MessageId": "copy-1"}]) == []
    assert starter.run([{**message, "MessageId": "copy-2"}]) == []
    # Then there is one execution and one workflow for the slot
    [execution] = executions_of(task.id)
    assert workflows.started == [execution.id]


# -- worker crash ------------------------------------------------------------------------------------


@pytest.mark.parametrize("step", ["create_and_start", "_start_workflow"])
def test_a_worker_that_fails_mid_slot_gets_the_message_back_and_the_slot_runs_once(
    workflows: InMemoryWorkflows, starter: Starter, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    # Given a queued slot and a worker that fails at one step of it
    task = scheduled_task("0 9 * * *", created=T0 - MINUTE)
    _queued_tick(T0, starter.queue_url)
    fail_once(monkeypatch, execution_service, step)
    [message] = starter.receive()
    # When the worker runs it: the message is reported failed, so the queue keeps it
    assert starter.run([message]) == [message["MessageId"]]
    assert stored_item(task.id)["pending_slot"]["slot"] == "2026-03-02T09:00:00Z"
    # And when it is delivered again
    assert starter.run([{**message, "MessageId": "again"}]) == []
    # Then the slot has one execution and one workflow
    [execution] = executions_of(task.id)
    assert execution.status == "pending"  # started; the fake's workflows do not run
    assert workflows.started == [execution.id]
    assert "pending_slot" not in stored_item(task.id)


def test_a_worker_that_dies_with_the_message_leaves_the_claim_for_a_later_tick(
    workflows: InMemoryWorkflows, starter: Starter
) -> None:
    # Given a queued slot whose message is lost with its worker (as after the dead-letter queue)
    task = scheduled_task("*/5 * * * *", created=T0 - MINUTE)
    _queued_tick(T0, starter.queue_url)
    [message] = starter.receive()
    starter.sqs.delete_message(QueueUrl=starter.queue_url, ReceiptHandle=message["ReceiptHandle"])
    # When ticks run within the claim's lease, then after it
    assert _queued_tick(T0 + MINUTE, starter.queue_url).claimed_elsewhere == 1
    recovered = _queued_tick(T0 + 2 * MINUTE, starter.queue_url)
    # Then the later tick queues the claimed slot again, and a worker runs it
    assert (recovered.recovered, recovered.dispatched) == (1, 1)
    assert starter.drain() == 1
    [execution] = executions_of(task.id)
    assert execution.id == slot_execution_id(task.id, T0)
    assert "pending_slot" not in stored_item(task.id)
    # And the next slot is claimed as usual afterwards
    assert _queued_tick(T0 + 5 * MINUTE, starter.queue_url).dispatched == 1


# -- throttled starts --------------------------------------------------------------------------------


def test_throttled_starts_back_off_and_start_without_an_error(
    workflows: InMemoryWorkflows, starter: Starter
) -> None:
    # Given three queued slots and a Step Functions that throttles the first five starts (the workflow
    # port refuses them as its AWS adapter does a ThrottlingException: tests/unit/test_aws_adapters.py)
    tasks = [scheduled_task("0 9 * * *", created=T0 - MINUTE) for _ in range(3)]
    _queued_tick(T0, starter.queue_url)
    workflows.throttle(5)
    # When the workers take the queue
    messages = starter.receive()
    assert starter.run(messages) == []
    # Then they backed off (growing, jittered waits) and every slot started once; none failed
    assert workflows.failures_left == 0
    assert len(starter.sleeps) == 5
    assert all(0 <= delay <= 2.0 for delay in starter.sleeps)
    for task in tasks:
        [execution] = executions_of(task.id)
        assert execution.status == "pending"
        assert execution.error_message is None
    assert len(workflows.started) == 3


def test_a_start_throttled_past_the_workers_time_comes_back_pending_not_failed(
    workflows: InMemoryWorkflows, starter: Starter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a queued slot, a Step Functions that throttles for long, and a worker short of time
    task = scheduled_task("0 9 * * *", created=T0 - MINUTE)
    _queued_tick(T0, starter.queue_url)
    workflows.throttle(1_000)
    monkeypatch.setattr(starter.invoke.module, "_MARGIN_SECONDS", 60.0)  # no time left to wait
    [message] = starter.receive()
    # When the worker runs it
    failed = starter.run([message])
    # Then the message comes back, the execution is pending (not failed) and the slot still claimed
    assert failed == [message["MessageId"]]
    [execution] = executions_of(task.id)
    assert (execution.status, execution.error_message) == ("pending", None)
    assert stored_item(task.id)["pending_slot"]["slot"] == "2026-03-02T09:00:00Z"
    # And when the bucket has refilled and the message is delivered again, it starts
    workflows.clear_failures()
    assert starter.run([{**message, "MessageId": "again"}]) == []
    assert workflows.started == [execution.id]
    assert "pending_slot" not in stored_item(task.id)


def test_a_message_that_is_not_a_slot_is_reported_failed(starter: Starter) -> None:
    # Given a message that is not a slot start
    starter.sqs.send_message(QueueUrl=starter.queue_url, MessageBody='{"task_id": ""}')
    [message] = starter.receive()
    # When the worker gets it, Then it is failed (so it ends in the dead-letter queue), not raised
    assert starter.run([message]) == [message["MessageId"]]


def test_a_slot_start_message_is_what_the_tick_sends(queue: str, workflows: InMemoryWorkflows) -> None:
    # Given a due task, When the tick queues it, Then the body is a SlotStart naming the claim
    task = scheduled_task("0 9 * * *", created=T0 - MINUTE)
    _queued_tick(T0 + timedelta(seconds=4), queue)
    [message] = boto3.client("sqs", region_name="us-east-1").receive_message(QueueUrl=queue)["Messages"]
    start = SlotStart.model_validate_json(message["Body"])
    assert (start.task_id, start.slot, start.owner_id, start.rule) == (task.id, T0, OWNER, RULE)


def test_a_queued_pending_execution_is_started_once(workflows: InMemoryWorkflows, starter: Starter) -> None:
    # Given a written, pending execution (as a backfill leaves it) queued by id, twice
    task = scheduled_task("0 9 * * *", created=T0 - MINUTE)
    execution = execution_service.create_and_start(
        task, {}, trigger_type="manual", actor=CALLER, now=T0, execution_id="backfilled-1", start=False
    )
    for _ in range(2):
        starter.sqs.send_message(
            QueueUrl=starter.queue_url,
            MessageBody=ExecutionStart(execution_id=execution.id).model_dump_json(),
        )
    # When the workers take the queue
    assert starter.drain() == 2
    # Then it started once
    assert workflows.started == [execution.id]
