"""Run now and backfill, through the API function against moto (no start queue: starts inline)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from agent_tasks.adapters import InMemoryWorkflows
from agent_tasks.schedules import slot_execution_id
from agent_tasks.services.slot_starts import ExecutionStart
from agent_tasks.settings import get_settings
from tests.support.api_calls import Api, valid_task
from tests.support.fixtures import LambdaClient


@pytest.fixture
def alice(api: LambdaClient, workflows: InMemoryWorkflows) -> Api:
    return Api(api, "alice")


def _scheduled(alice: Api, **fields: Any) -> dict[str, Any]:
    body = valid_task(is_scheduled=True, schedule_cron="0 * * * *", **fields)
    status, task, _ = alice.call("POST", "/api/v1/tasks", body)
    assert status == 201, task
    return task


def _fields(payload: dict[str, Any]) -> list[str]:
    return [".".join(str(p) for p in d["loc"]) for d in payload["error"]["details"]]


# -- run now -----------------------------------------------------------------------------------------


def test_run_now_starts_a_manual_execution_marked_run_now(alice: Api, workflows: InMemoryWorkflows) -> None:
    # Given a scheduled task
    task = _scheduled(alice)
    # When its owner runs it now
    status, execution, headers = alice.call("POST", f"/api/v1/tasks/{task['id']}/run-now")
    # Then one manual execution started, marked as a run-now
    assert status == 202, execution
    assert headers["Location"] == f"/api/v1/task-executions/{execution['id']}"
    assert execution["trigger_type"] == "manual"
    assert execution["trigger_metadata"] == {"run_now": True, "forced": False}
    assert workflows.started == [execution["id"]]


def test_run_now_respects_the_skip_policy_unless_forced(alice: Api, workflows: InMemoryWorkflows) -> None:
    # Given a task under overlap_policy skip with a run still pending
    task = _scheduled(alice, overlap_policy="skip")
    assert alice.call("POST", f"/api/v1/tasks/{task['id']}/run-now")[0] == 202
    # When it is run now again, Then 409 says why
    status, error, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/run-now", {})
    assert status == 409, error
    assert "force" in error["error"]["message"]
    # And with force it starts
    status, forced, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/run-now", {"force": True})
    assert status == 202, forced
    assert forced["trigger_metadata"] == {"run_now": True, "forced": True}
    assert len(workflows.started) == 2


def test_run_now_under_allow_starts_beside_a_running_one(alice: Api, workflows: InMemoryWorkflows) -> None:
    task = _scheduled(alice, overlap_policy="allow")
    assert alice.call("POST", f"/api/v1/tasks/{task['id']}/run-now")[0] == 202
    assert alice.call("POST", f"/api/v1/tasks/{task['id']}/run-now")[0] == 202


def test_run_now_of_another_users_task_is_404_and_bad_bodies_are_422(alice: Api, api: LambdaClient) -> None:
    task = _scheduled(alice)
    assert Api(api, "bob").call("POST", f"/api/v1/tasks/{task['id']}/run-now")[0] == 404
    status, error, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/run-now", {"force": "maybe"})
    assert (status, _fields(error)) == (422, ["body.force"])
    status, error, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/run-now", {"forse": True})
    assert status == 422
    assert _fields(error) == ["body.forse"]


# -- backfill ----------------------------------------------------------------------------------------


def _backfill(alice: Api, task_id: str, start: datetime, end: datetime) -> tuple[int, Any]:
    body = {"from": start.isoformat(), "to": end.isoformat()}
    status, payload, _ = alice.call("POST", f"/api/v1/tasks/{task_id}/backfill", body)
    return status, payload


def test_backfill_runs_each_past_slot_once_with_its_slot_in_the_metadata(
    alice: Api, workflows: InMemoryWorkflows
) -> None:
    # Given an hourly task
    task = _scheduled(alice)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    # When its owner backfills five hours of it (both ends included)
    status, result = _backfill(alice, task["id"], start, start + timedelta(hours=4))
    # Then the five slots each got an execution named by the slot, with the slot in its metadata
    assert status == 202, result
    slots = [start + timedelta(hours=n) for n in range(5)]
    assert [datetime.fromisoformat(s) for s in result["slots"]] == slots
    assert result["execution_ids"] == [slot_execution_id(task["id"], slot) for slot in slots]
    assert result["already_ran"] == []
    assert sorted(workflows.started) == sorted(result["execution_ids"])
    _, first, _ = alice.call("GET", f"/api/v1/task-executions/{result['execution_ids'][0]}")
    assert first["trigger_type"] == "manual"
    assert first["trigger_metadata"] == {"backfill": True, "slot": slots[0].isoformat()}
    # And backfilling an overlapping range runs only the slots that had not run
    status, again = _backfill(alice, task["id"], start + timedelta(hours=3), start + timedelta(hours=5))
    assert status == 202, again
    assert [datetime.fromisoformat(s) for s in again["already_ran"]] == slots[3:5]
    assert again["execution_ids"] == [slot_execution_id(task["id"], start + timedelta(hours=5))]
    assert len(workflows.started) == 6


def test_backfill_is_spaced_out_through_the_start_queue(
    alice: Api, workflows: InMemoryWorkflows, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a start queue
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="agent-tasks-starts-backfill")["QueueUrl"]
    monkeypatch.setenv("START_QUEUE_URL", url)
    get_settings.cache_clear()
    task = _scheduled(alice)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    # When three slots are backfilled
    status, result = _backfill(alice, task["id"], start, start + timedelta(hours=2))
    # Then they are written pending and queued, the first at once and the others later
    assert status == 202, result
    assert result["spacing_seconds"] == 5
    assert workflows.started == []
    visible = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [ExecutionStart.model_validate_json(m["Body"]).execution_id for m in visible] == [
        result["execution_ids"][0]
    ]


@pytest.mark.parametrize(
    ("hours", "field"),
    [
        (100, None),  # 101 slots: one too many
        (-1, "body"),  # to before from
    ],
)
def test_backfill_validates_its_range(alice: Api, hours: int, field: str | None) -> None:
    task = _scheduled(alice)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=200)
    status, error = _backfill(alice, task["id"], start, start + timedelta(hours=hours))
    assert status == 422, error
    assert _fields(error) == [field or "body.to"]


def test_backfill_refuses_the_future_a_range_without_slots_and_an_unscheduled_task(alice: Api) -> None:
    task = _scheduled(alice)
    now = datetime.now(UTC)
    status, error = _backfill(alice, task["id"], now - timedelta(hours=1), now + timedelta(hours=1))
    assert (status, _fields(error)) == (422, ["body.to"])
    quiet = now.replace(minute=10, second=0, microsecond=0) - timedelta(hours=2)
    status, error = _backfill(alice, task["id"], quiet, quiet + timedelta(minutes=20))
    assert (status, _fields(error)) == (422, ["body.from"])
    _, plain, _ = alice.call("POST", "/api/v1/tasks", valid_task(name="Plain"))
    status, error = _backfill(alice, plain["id"], quiet, quiet + timedelta(minutes=20))
    assert (status, _fields(error)) == (422, ["body"])
    status, error, _ = alice.call(
        "POST", f"/api/v1/tasks/{task['id']}/backfill", {"from": "2026-01-01T00:00:00"}
    )
    assert status == 422
    assert {"body.from", "body.to"} <= set(_fields(error))
