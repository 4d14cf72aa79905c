"""The scheduler function: a Scheduled Event in, one tick, the summary out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from agent_tasks.adapters import InMemoryWorkflows
from tests.support.events import EVENTS_DIR
from tests.support.fixtures import LambdaClient, load_function
from tests.support.schedules import executions_of, scheduled_task

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _scheduled_event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / "scheduled_event.json").read_text())
    event.update(changes)
    return event


@pytest.fixture
def scheduler_function(workflows: InMemoryWorkflows, monkeypatch: pytest.MonkeyPatch) -> Any:
    module = load_function("scheduler")
    return module, LambdaClient(module, "scheduler")


def test_the_handler_ticks_at_the_current_time_and_names_the_rule(
    scheduler_function: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a task due at 09:00 and a clock at 09:00:12
    module, invoke = scheduler_function
    task = scheduled_task("0 9 * * *", created=T0 - timedelta(minutes=1))
    monkeypatch.setattr(module, "clock", lambda: T0 + timedelta(seconds=12, microseconds=5))
    # When the 09:00 Scheduled Event arrives
    result = invoke(_scheduled_event())
    # Then the tick ran at the current time, started the task and names the rule in the execution
    assert result["now"] == "2026-03-02T09:00:12+00:00"
    assert (result["due"], result["started"], result["skipped_overlap"], result["skipped_missed"]) == (
        1,
        1,
        0,
        0,
    )
    assert result["rule"] == "agent-tasks-scheduler-tick-dev"
    [execution] = executions_of(task.id)
    assert execution.trigger_metadata["rule"] == "agent-tasks-scheduler-tick-dev"
    # And the counts go out as CloudWatch metrics (embedded metric format on stdout)
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    [metrics] = [m for m in emitted if "SchedulerStarted" in m]
    assert [metrics[name] for name in ("SchedulerDue", "SchedulerStarted", "SchedulerSkipped")] == [
        [1.0],
        [1.0],
        [0.0],
    ]


def test_a_clock_behind_the_event_time_does_not_miss_the_slot(
    scheduler_function: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a task due at 09:00 and a Lambda clock two seconds behind EventBridge's
    module, invoke = scheduler_function
    task = scheduled_task("0 9 * * *", created=T0 - timedelta(minutes=1))
    monkeypatch.setattr(module, "clock", lambda: T0 - timedelta(seconds=2))
    # When the 09:00 event arrives
    result = invoke(_scheduled_event())
    # Then the tick runs at the event's time, so the 09:00 slot starts
    assert result["now"] == "2026-03-02T09:00:00+00:00"
    assert len(executions_of(task.id)) == 1


@pytest.mark.parametrize(
    "changes",
    [{"time": "not a time"}, {"time": "2026-03-02T09:00:00"}, {"resources": []}],
)
def test_a_malformed_event_is_refused(scheduler_function: Any, changes: dict[str, Any]) -> None:
    _, invoke = scheduler_function
    with pytest.raises(ValidationError):
        invoke(_scheduled_event(**changes))


def test_an_event_from_the_future_cannot_pull_schedules_forward(
    scheduler_function: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a daily 09:00 task not due until tomorrow, and a clock at today's 09:00:12
    module, invoke = scheduler_function
    task = scheduled_task("0 9 * * *", created=T0 + timedelta(seconds=1))
    monkeypatch.setattr(module, "clock", lambda: T0 + timedelta(seconds=12))
    # When a replayed or hand-made event claims it is next week
    result = invoke(_scheduled_event(time="2026-03-09T09:00:00Z"))
    # Then the tick runs at most a minute ahead of its own clock, and nothing is started early
    assert result["now"] == "2026-03-02T09:01:12+00:00"
    assert result["started"] == 0
    assert executions_of(task.id) == []
