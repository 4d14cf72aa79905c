"""The scheduler logs each task's work with its ids, counts the executions it starts, and clears
the ids before the next task (one warm function serves many ticks and many tasks)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent_tasks import observability
from tests.support.events import EVENTS_DIR
from tests.support.fixtures import FakePorts, LambdaClient, load_function
from tests.support.schedules import executions_of, scheduled_task

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class _CurrentStdout:
    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def scheduler(
    aws: dict[str, str], fake_ports: FakePorts, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, LambdaClient]:
    # Workflows are started on the fake workflow port (the scheduler's logs are the subject here).
    # The Logger keeps the stream it was made with (long replaced by pytest): use the current one.
    monkeypatch.setattr(observability.logger.registered_handler, "stream", _CurrentStdout())
    module = load_function("scheduler")
    return module, LambdaClient(module, "scheduler")


def _tick(scheduler: tuple[Any, LambdaClient], at: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    module, invoke = scheduler
    monkeypatch.setattr(module, "clock", lambda: at)
    event = json.loads((EVENTS_DIR / "scheduled_event.json").read_text())
    event["time"] = at.isoformat()
    invoke(event)


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_skipped_slot_is_logged_with_its_task_and_execution_and_the_tick_summary_is_not(
    scheduler: tuple[Any, LambdaClient], monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    # Given a task due every minute whose 09:00 run is still going
    task = scheduled_task("* * * * *", created=T0 - timedelta(minutes=1))
    _tick(scheduler, T0, monkeypatch)
    [first] = executions_of(task.id)
    started = _lines(capfd.readouterr().out)
    # When the 09:01 tick skips the overlapping slot
    _tick(scheduler, T0 + timedelta(minutes=1), monkeypatch)
    lines = _lines(capfd.readouterr().out)
    # Then the first tick counted the execution it started as scheduled
    counted = [line for line in started if "ExecutionsStarted" in line]
    assert [(line["TriggerType"], line["ExecutionsStarted"]) for line in counted] == [("scheduled", [1.0])]
    # And the skip is logged with the task, its owner and the slot's execution id
    [skipped] = [line for line in lines if line.get("message", "").startswith("slot skipped")]
    assert skipped["task_id"] == task.id
    assert skipped["owner_id"] == task.owner_id
    assert skipped["execution_id"] not in ("", None, first.id)
    # And the tick's summary, logged after the tasks, carries none of one task's ids
    [summary] = [line for line in lines if line.get("message") == "scheduler tick"]
    assert not {"task_id", "execution_id", "owner_id"} & set(summary)
