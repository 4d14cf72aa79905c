"""The scheduler's tick and the reconciler only put events: with due tasks whose webhooks would all
time out, a tick makes no HTTP request at all (so it takes as long as a tick with none)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from agent_tasks.services.reconcile import reconcile
from agent_tasks.services.scheduler import tick
from agent_tasks.store import executions as execution_store
from tests.support.executions import pending_execution, stored_task
from tests.support.fixtures import FakePorts
from tests.support.schedules import executions_of, scheduled_task

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# A routable address nothing answers (TEST-NET-1): a request there would hang until its timeout.
SILENT_HOOK = "https://192.0.2.1/hooks/agent-tasks"

pytestmark = pytest.mark.usefixtures("private_network")


@pytest.fixture
def http_clients(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every HTTP client made (a webhook delivery makes one per delivery)."""
    made: list[Any] = []
    real = httpx2.Client

    def counting(*args: Any, **kwargs: Any) -> Any:
        made.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(httpx2, "Client", counting)
    return made


def _ended(fake_ports: FakePorts) -> list[dict[str, Any]]:
    return [
        json.loads(detail) for kind, detail in fake_ports.event_bus.published if kind.startswith("Execution")
    ]


# 100 as the issue says (about 4 minutes on a busy 2-core machine: `-m slow`); 10 in the default run.
@pytest.mark.parametrize("due", [10, pytest.param(100, marks=pytest.mark.slow)])
def test_a_tick_of_due_tasks_whose_starts_fail_puts_their_events_and_makes_no_http_request(
    aws: dict[str, str],
    fake_ports: FakePorts,
    http_clients: list[Any],
    due: int,
) -> None:
    # Given due tasks, each with a webhook that would never answer, whose workflows cannot start
    config = {"webhook_url": SILENT_HOOK, "on": ["failed"]}
    tasks = [
        scheduled_task("* * * * *", created=T0 - timedelta(minutes=1), notification_config=config)
        for _ in range(due)
    ]
    fake_ports.workflows.refuse_with = "AccessDeniedException"
    # When the scheduler ticks
    summary = tick(T0, rule="agent-tasks-scheduler-tick-test")
    # Then every slot's execution ended failed and its end was put on the bus
    assert summary.errors == 0, summary
    ended = _ended(fake_ports)
    assert sorted(e["task_id"] for e in ended) == sorted(t.id for t in tasks)
    assert {e["status"] for e in ended} == {"failed"}
    assert all(executions_of(t.id)[0].status == "failed" for t in tasks)
    # And the tick made no HTTP request: delivering is the notifier's work, not the tick's
    assert http_clients == []


def test_the_reconciler_puts_the_end_and_makes_no_http_request(
    aws: dict[str, str], fake_ports: FakePorts, http_clients: list[Any]
) -> None:
    # Given running executions of a task with a webhook that would never answer
    task = stored_task(notification_config={"webhook_url": SILENT_HOOK}, webhook_secret="whsec")
    ids = [pending_execution(task) for _ in range(5)]
    for execution_id in ids:
        execution_store.update(execution_id, {"status": "running"})
    # When their workflows are reported failed
    for execution_id in ids:
        reconcile({"name": execution_id, "status": "FAILED", "error": "States.Runtime", "cause": "boom"})
    # Then each end was put on the bus, and no HTTP request was made
    assert sorted(e["execution_id"] for e in _ended(fake_ports)) == sorted(ids)
    assert http_clients == []
