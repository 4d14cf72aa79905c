"""Concurrency limits: queued over a limit, promoted when a run ends (exactly as many as fit), expired,
cancelled, slots that cannot leak; against moto, our workflow port faked."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import boto3
import pytest

from agent_tasks import aws as service_aws
from agent_tasks.models.common import utc_now
from agent_tasks.models.executions import Execution
from agent_tasks.services import concurrency
from agent_tasks.services import executions as execution_service
from agent_tasks.services.actor import Actor
from agent_tasks.services.ending import end_execution
from agent_tasks.settings import get_settings
from agent_tasks.store import concurrency as slot_store
from agent_tasks.store import executions as execution_store
from agent_tasks.store import tasks as task_store
from tests.support.api_calls import Api
from tests.support.executions import stored_task
from tests.support.fixtures import FakePorts, LambdaClient
from tests.support.schedules import serialize_moto_requests


def _start(task: Any) -> Execution:
    return execution_service.create_and_start(
        task, {}, trigger_type="manual", actor=Actor(user_id=task.owner_id)
    )


def _status(execution_id: str) -> str:
    execution = execution_store.get(execution_id)
    assert execution is not None
    return execution.status


@pytest.fixture
def user_limit(monkeypatch: pytest.MonkeyPatch, aws: dict[str, str]) -> Any:
    def set_limit(limit: int) -> None:
        monkeypatch.setenv("MAX_CONCURRENT_RUNS_PER_USER", str(limit))
        get_settings.cache_clear()

    return set_limit


def test_over_the_task_limit_an_execution_is_queued_and_not_started(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    # Given a task that may run once at a time, with one run going
    task = stored_task("alice", max_concurrent_runs=1, queued_ttl_seconds=600)
    first = _start(task)
    assert first.status == "pending"
    # When a second execution is asked for
    second = _start(task)
    # Then it is written queued, with the time it expires, and no workflow is started for it
    assert second.status == "queued"
    assert second.queued_until is not None
    assert second.queued_until - second.created_at == timedelta(seconds=600)
    assert fake_ports.workflows.started == [first.id]
    assert slot_store.holders(("task", task.id)) == {first.id}


def test_when_the_running_one_ends_the_oldest_queued_one_starts(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    # Given a task limited to one run, one going and two queued
    task = stored_task("alice", max_concurrent_runs=1)
    running = _start(task)
    older, newer = _start(task), _start(task)
    assert (older.status, newer.status) == ("queued", "queued")
    # When the running one ends
    assert end_execution(running, "completed") is not None
    # Then the older queued one is promoted and started by its name; the newer waits
    promoted = execution_store.get(older.id)
    assert promoted is not None
    assert promoted.status == "pending"
    assert promoted.dequeued_at is not None
    assert fake_ports.workflows.started == [running.id, older.id]
    assert _status(newer.id) == "queued"
    assert slot_store.holders(("task", task.id)) == {older.id}
    # And when that one ends too, the newer starts
    assert end_execution(promoted, "failed", reason="test") is not None
    assert _status(newer.id) == "pending"
    assert fake_ports.workflows.started == [running.id, older.id, newer.id]


def test_the_per_user_limit_queues_across_tasks(
    aws: dict[str, str], fake_ports: FakePorts, user_limit: Any
) -> None:
    # Given a user limited to two runs at once, and two tasks without their own limit
    user_limit(2)
    one, two = stored_task("bob"), stored_task("bob")
    a, b = _start(one), _start(two)
    # When a third is asked for, of either task
    c = _start(one)
    # Then it is queued; another user is not affected
    assert (a.status, b.status, c.status) == ("pending", "pending", "queued")
    assert _start(stored_task("carol")).status == "pending"
    # And when one of bob's runs is cancelled, the queued one starts
    execution_service.cancel(Actor(user_id="bob"), b.id)
    assert _status(c.id) == "pending"
    assert slot_store.holders(("user", "bob")) == {a.id, c.id}


def test_two_ends_at_once_start_two_queued_runs_not_one_or_three(
    aws: dict[str, str], fake_ports: FakePorts, user_limit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    serialize_moto_requests(monkeypatch)
    # Given a user limited to two runs, both going, and three queued
    user_limit(2)
    task = stored_task("dave")
    running = [_start(task), _start(task)]
    queued = [_start(task) for _ in range(3)]
    assert [e.status for e in queued] == ["queued"] * 3
    # When both running executions end at the same time
    with ThreadPoolExecutor(max_workers=2) as pool:
        ended = list(pool.map(lambda e: end_execution(e, "completed"), running))
    assert all(e is not None for e in ended)
    # Then exactly two queued runs were promoted and started, the two oldest, once each
    statuses = [_status(e.id) for e in queued]
    assert statuses == ["pending", "pending", "queued"]
    started = fake_ports.workflows.started
    assert sorted(started[2:]) == sorted(e.id for e in queued[:2])
    assert len(started) == len(set(started)) == 4
    assert slot_store.holders(("user", "dave")) == {queued[0].id, queued[1].id}


def test_a_queued_execution_can_be_cancelled_and_nothing_is_stopped(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    # Given a queued execution
    task = stored_task("erin", max_concurrent_runs=1)
    running = _start(task)
    queued = _start(task)
    # When its owner cancels it
    cancelled = execution_service.cancel(Actor(user_id="erin"), queued.id)
    # Then it is cancelled, no workflow is stopped, and it never starts when the running one ends
    assert cancelled.status == "cancelled"
    assert fake_ports.workflows.stopped == []
    end_execution(running, "completed")
    assert _status(queued.id) == "cancelled"
    assert fake_ports.workflows.started == [running.id]
    assert slot_store.queued_for_user("erin", limit=10) == []


def test_the_sweep_expires_a_queued_run_past_its_ttl(aws: dict[str, str], fake_ports: FakePorts) -> None:
    # Given a queued execution whose queued_ttl_seconds is 60, behind a long run
    task = stored_task("fred", max_concurrent_runs=1, queued_ttl_seconds=60)
    running = _start(task)
    queued = _start(task)
    # When the sweep runs before its time, nothing happens; after it, it ends expired
    assert concurrency.sweep(utc_now()).expired == 0
    assert _status(queued.id) == "queued"
    summary = concurrency.sweep(utc_now() + timedelta(seconds=61))
    assert summary.expired == 1
    expired = execution_store.get(queued.id)
    assert expired is not None
    assert expired.status == "expired"
    assert expired.is_finished
    assert "queued_ttl_seconds (60 s)" in (expired.error_message or "")
    # And it is no longer in the queue, and it never starts
    end_execution(running, "completed")
    assert fake_ports.workflows.started == [running.id]
    # And its end was announced as an ExecutionExpired event
    assert "ExecutionExpired" in [event[0] for event in fake_ports.event_bus.published]


def test_a_leaked_slot_is_dropped_when_the_limit_is_reached(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    # Given a task limited to one run whose only slot is held by an execution that ended outside the
    # end path (its status written directly, as by a bug or an operator)
    task = stored_task("gina", max_concurrent_runs=1)
    leaked = _start(task)
    execution_store.update(leaked.id, {"status": "failed"})
    # When another execution is asked for
    second = _start(task)
    # Then the leaked slot is found and dropped, and the new run is admitted, not queued
    assert second.status == "pending"
    assert slot_store.holders(("task", task.id)) == {second.id}


def test_the_sweep_promotes_a_run_whose_promotion_was_lost(
    aws: dict[str, str], fake_ports: FakePorts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a queued run whose predecessor ended but whose promotion failed (a crash after the end)
    task = stored_task("hank", max_concurrent_runs=1)
    running = _start(task)
    queued = _start(task)
    monkeypatch.setattr("agent_tasks.services.ending.promote", _crash)
    end_execution(running, "completed")
    assert _status(queued.id) == "queued"
    monkeypatch.undo()
    # When the scheduler's sweep runs
    summary = concurrency.sweep(utc_now())
    # Then the queued run is promoted and started
    assert summary.promoted == 1
    assert _status(queued.id) == "pending"
    assert queued.id in fake_ports.workflows.started


def test_a_queued_run_of_a_deactivated_task_is_cancelled_not_started(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    # Given a queued run whose task is deactivated while it waits (the flag written on the stored task)
    task = stored_task("hal", max_concurrent_runs=1)
    running = _start(task)
    queued = _start(task)
    boto3.client("dynamodb").update_item(
        TableName=get_settings().table_name,
        Key=task_store.task_key(task.id),
        UpdateExpression="SET is_active = :no",
        ExpressionAttributeValues={":no": {"BOOL": False}},
    )
    # When the running one ends and frees the slot
    end_execution(running, "completed")
    # Then the queued run is cancelled, saying why, and never started; its queue entry is gone
    cancelled = execution_store.get(queued.id)
    assert cancelled is not None
    assert cancelled.status == "cancelled"
    assert "deleted or deactivated" in (cancelled.error_message or "")
    assert fake_ports.workflows.started == [running.id]
    assert slot_store.queued_for_user("hal", limit=10) == []


@contextmanager
def task_reads(task_id: str) -> Iterator[list[str]]:
    """The GetItem calls the service's own DynamoDB client makes for the task's item."""
    seen: list[str] = []

    def before(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == task_store.task_key(task_id):
            seen.append(task_id)

    events = service_aws.dynamodb().meta.events
    events.register("provide-client-params.dynamodb.GetItem", before)
    try:
        yield seen
    finally:
        events.unregister("provide-client-params.dynamodb.GetItem", before)


def test_queueing_an_execution_does_not_read_its_task_again(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    # Given a task limited to one run, with one going, and the task as its caller read it
    task = stored_task("ike", max_concurrent_runs=1)
    running = _start(task)
    # When a second execution is asked for with that task
    with task_reads(task.id) as reads:
        queued = _start(task)
    # Then it is queued, and the promotion pass after queueing judged it by the caller's copy:
    # the task item was not read again
    assert queued.status == "queued"
    assert reads == []
    # And when the running one ends, the pass it makes reads the task (it has no copy) and promotes it
    with task_reads(task.id) as reads:
        end_execution(running, "completed")
    assert reads == [task.id]
    assert _status(queued.id) == "pending"


def test_a_limit_raised_while_an_execution_is_queued_is_seen_by_the_next_pass(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    # Given a task limited to one run with one going, whose limit is raised to 2 in the store after
    # its caller read it (the caller's copy still says 1)
    task = stored_task("jay", max_concurrent_runs=1)
    running = _start(task)
    boto3.client("dynamodb").update_item(
        TableName=get_settings().table_name,
        Key=task_store.task_key(task.id),
        UpdateExpression="SET max_concurrent_runs = :two",
        ExpressionAttributeValues={":two": {"N": "2"}},
    )
    # When an execution is asked for with the old copy
    queued = _start(task)
    # Then it is judged by that copy, as its admission was: queued, not started
    assert queued.status == "queued"
    assert fake_ports.workflows.started == [running.id]
    # And the sweep's pass (every minute), which reads the task, promotes it under the new limit
    assert concurrency.sweep(utc_now()).promoted == 1
    assert _status(queued.id) == "pending"
    assert fake_ports.workflows.started == [running.id, queued.id]


def _crash(owner_id: str) -> None:
    raise RuntimeError("the function died")


def test_the_slot_items_are_sets_of_execution_ids(aws: dict[str, str], fake_ports: FakePorts) -> None:
    task = stored_task("ivy", max_concurrent_runs=3)
    ids = {_start(task).id for _ in range(2)}
    item = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=aws["TABLE_NAME"], Key=slot_store.slot_key(("task", task.id))
    )["Item"]
    assert set(item["holders"]["SS"]) == ids


# -- the API -----------------------------------------------------------------------------------------


@pytest.fixture
def jane(api: LambdaClient) -> Api:
    return Api(api, "jane")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_concurrent_runs", 0),
        ("max_concurrent_runs", 1001),
        ("max_concurrent_runs", "two"),
        ("queued_ttl_seconds", 59),
        ("queued_ttl_seconds", 86_401),
    ],
)
def test_bad_concurrency_fields_are_a_422_naming_the_field(
    jane: Api, fake_ports: FakePorts, field: str, value: Any
) -> None:
    status, payload, _ = jane.call("POST", "/api/v1/tasks", {**_task_body(), field: value})
    assert status == 422
    assert any(field in detail["loc"] for detail in payload["error"]["details"]), payload


def test_an_execution_over_the_limit_is_answered_202_queued_and_listed_by_status(
    jane: Api, fake_ports: FakePorts
) -> None:
    task = jane.create(max_concurrent_runs=1)
    assert task["max_concurrent_runs"] == 1
    assert task["queued_ttl_seconds"] == 3600
    first_status, first, _ = jane.call("POST", f"/api/v1/tasks/{task['id']}/execute", {})
    status, queued, _ = jane.call("POST", f"/api/v1/tasks/{task['id']}/execute", {})
    assert (first_status, status) == (202, 202)
    assert (first["status"], queued["status"]) == ("pending", "queued")
    assert queued["queued_until"] is not None
    assert "cancel" in queued["_links"]
    status, page, _ = jane.call("GET", f"/api/v1/tasks/{task['id']}/executions", query={"status": "queued"})
    assert status == 200
    assert [e["id"] for e in page["items"]] == [queued["id"]]
    status, patched, _ = jane.call("PATCH", f"/api/v1/tasks/{task['id']}", {"max_concurrent_runs": None})
    assert status == 200
    assert patched["max_concurrent_runs"] is None


def _task_body() -> dict[str, Any]:
    from tests.support.api_calls import valid_task

    return valid_task()
