"""Spend caps per user: the limits and usage API, the roll-up of each model call, and the caps enforced."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from agent_tasks.agent.model_api import ModelRequest, ModelResponse
from agent_tasks.agent.scripted import ScriptedProvider
from agent_tasks.models.limits import period_end
from agent_tasks.services import spend, workflow
from agent_tasks.store import executions as execution_store
from agent_tasks.store import usage as usage_store
from tests.support.api_calls import Api
from tests.support.executions import pending_execution, stored_task
from tests.support.fixtures import LambdaClient
from tests.support.schedules import serialize_moto_requests


class _PricedProvider:
    """The scripted conversation, answered as a priced model would be (our own provider port)."""

    def __init__(self) -> None:
        self.inner = ScriptedProvider()
        self.calls = 0

    @property
    def name(self) -> str:
        return "anthropic"

    def create_message(self, request: ModelRequest) -> ModelResponse:
        self.calls += 1
        return self.inner.create_message(request)


def _run(execution_id: str, provider: Any = None) -> dict[str, Any]:
    assert workflow.prepare(execution_id) == {"next": "run"}
    step = workflow.run_agent(execution_id, provider=provider or _PricedProvider())
    while step["next"] == "continue":
        step = workflow.run_agent(execution_id, provider=provider or _PricedProvider())
    return step


@pytest.fixture
def alice(api: LambdaClient) -> Api:
    return Api(api, "alice")


def _events(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(spend, "put_task_event", lambda kind, detail: sent.append((kind, detail)) or True)
    return sent


# -- the limits API ---------------------------------------------------------------------------------


def test_limits_start_empty_and_a_put_replaces_them_and_is_audited(alice: Api, api: LambdaClient) -> None:
    # Given a user who never set limits
    status, limits, _ = alice.call("GET", "/api/v1/limits")
    assert status == 200
    assert (limits["daily_usd"], limits["monthly_usd"], limits["soft_alert_usd"]) == (None, None, None)
    # When they set caps
    body = {"daily_usd": 5, "monthly_usd": 50, "soft_alert_usd": 4}
    status, limits, _ = alice.call("PUT", "/api/v1/limits", body)
    # Then the caps are answered, stored, theirs alone, and audited
    assert status == 200, limits
    assert (limits["daily_usd"], limits["monthly_usd"], limits["soft_alert_usd"]) == (5, 50, 4)
    assert limits["owner_id"] == "alice"
    assert limits["_links"]["self"] == "/api/v1/limits"
    assert alice.call("GET", "/api/v1/limits")[1]["daily_usd"] == 5
    assert Api(api, "bob").call("GET", "/api/v1/limits")[1]["daily_usd"] is None
    _, trail, _ = alice.call("GET", "/api/v1/audit-events")
    [event] = [e for e in trail["items"] if e["action"] == "limits.updated"]
    assert event["changed_fields"] == ["daily_usd", "monthly_usd", "soft_alert_usd"]
    # And a second PUT replaces them (absent: no cap)
    status, limits, _ = alice.call("PUT", "/api/v1/limits", {"monthly_usd": 10})
    assert (status, limits["daily_usd"], limits["monthly_usd"], limits["version"]) == (200, None, 10, 2)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"daily_usd": -1}, "body.daily_usd"),
        ({"daily_usd": "lots"}, "body.daily_usd"),
        ({"monthly_usd": 10_000_000}, "body.monthly_usd"),
        ({"daily_usd": 20, "monthly_usd": 10}, "body.daily_usd"),
        ({"daily_usd": 5, "soft_alert_usd": 6}, "body.soft_alert_usd"),
        ({"monthly_usd": 5, "soft_alert_usd": 6}, "body.soft_alert_usd"),
        ({"weekly_usd": 5}, "body.weekly_usd"),
        ({"soft_alert_usd": False}, "body.soft_alert_usd"),
        ({"retention_days": True}, "body.retention_days"),
    ],
)
def test_invalid_limits_are_a_422_naming_the_field_and_nothing_is_stored(
    alice: Api, body: dict[str, Any], field: str
) -> None:
    status, payload, _ = alice.call("PUT", "/api/v1/limits", body)
    assert status == 422, payload
    assert field in [".".join(str(p) for p in d["loc"]) for d in payload["error"]["details"]]
    assert alice.call("GET", "/api/v1/limits")[1]["version"] == 0


def test_usage_answers_an_unknown_period_with_a_422(alice: Api) -> None:
    status, payload, _ = alice.call("GET", "/api/v1/usage", query={"period": "week"})
    assert status == 422
    assert payload["error"]["details"][0]["loc"][-1] == "period"


# -- roll-up ----------------------------------------------------------------------------------------


def test_concurrent_runs_usage_equals_the_sum_of_their_costs(
    alice: Api, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two of alice's tasks and six executions of them
    serialize_moto_requests(monkeypatch)
    tasks = [stored_task("alice"), stored_task("alice")]
    executions = [pending_execution(tasks[i % 2]) for i in range(6)]
    # When they all run at once, each model call priced
    with ThreadPoolExecutor(max_workers=6) as pool:
        steps = list(pool.map(_run, executions))
    assert {s["next"] for s in steps} == {"finalize"}
    # Then the day's and month's usage is exactly the sum of the executions' costs (no lost update)
    stored = [execution_store.get(e) for e in executions]
    costs = [e.cost_usd for e in stored if e is not None]
    assert len(costs) == 6
    assert all(c is not None and c > 0 for c in costs)
    total = sum(c for c in costs if c is not None)
    for period in ("day", "month"):
        status, usage, _ = alice.call("GET", "/api/v1/usage", query={"period": period})
        assert status == 200, usage
        assert usage["total"]["cost_usd"] == pytest.approx(total, abs=1e-9)
        assert usage["total"]["model_calls"] == 6 * 4
        # And per task, the sum of that task's executions
        per_task = {t["task_id"]: t["cost_usd"] for t in usage["tasks"]}
        for index, task in enumerate(tasks):
            expected = sum(c for i, c in enumerate(costs) if i % 2 == index and c is not None)
            assert per_task[task.id] == pytest.approx(expected, abs=1e-9)
    # And another user sees none of it
    _, bobs, _ = Api(alice.handler, "bob").call("GET", "/api/v1/usage")
    assert (bobs["total"]["cost_usd"], bobs["tasks"]) == (0, [])


def test_a_retried_store_of_a_call_counts_it_once(aws: dict[str, str]) -> None:
    # Given one priced call's roll-up written with its message
    from agent_tasks.models.transcript import TranscriptMessage, Usage
    from agent_tasks.store import sessions as session_store

    task = stored_task("alice")
    execution_id = pending_execution(task)
    workflow.prepare(execution_id)
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.session_id is not None
    session = session_store.get(execution.session_id)
    assert session is not None
    message = TranscriptMessage(
        seq=2,
        role="assistant",
        content=[{"type": "text", "text": "hi"}],
        created_at=datetime.now(UTC),
        usage=Usage(input_tokens=10, output_tokens=5),
        cost_usd=0.25,
    )
    # When the same store is retried (the SDK retried it after a lost answer)
    for _ in range(2):
        session_store.put_message(session, message, also=spend.rollup("alice", task.id, message))
    # Then the call counts once
    figures, _ = usage_store.period_usage("alice", "day", message.created_at.strftime("%Y-%m-%d"))
    assert (figures.cost_usd, figures.model_calls) == (0.25, 1)


# -- caps -------------------------------------------------------------------------------------------


def test_at_the_cap_a_new_execution_is_refused_with_the_cap_and_its_reset_time(
    alice: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = _events(monkeypatch)
    # Given alice spent more than her daily cap today
    assert alice.call("PUT", "/api/v1/limits", {"daily_usd": 0.001, "soft_alert_usd": 0.0005})[0] == 200
    task = stored_task("alice")
    _run(pending_execution(task))
    # When she starts another execution
    status, payload, _ = alice.call("POST", f"/api/v1/tasks/{task.id}/execute", {"variables": {}})
    # Then it is refused with a 429 naming the cap and when it resets, and nothing was written
    assert status == 429, payload
    assert payload["error"]["code"] == "spend_cap_reached"
    [detail] = payload["error"]["details"]
    assert detail["loc"] == ["limits", "daily_usd"]
    assert detail["ctx"]["cap_usd"] == 0.001
    assert detail["ctx"]["spent_usd"] >= 0.001
    now = datetime.now(UTC)
    assert detail["ctx"]["resets_at"] == period_end("day", now).isoformat()
    assert alice.call("GET", f"/api/v1/tasks/{task.id}/executions")[1]["total"] == 1
    # And budget_reached went out once per period for the soft alert, and once for the daily cap
    alerts = sorted((d["period"], d["level"]) for kind, d in sent if kind == "BudgetReached")
    assert alerts == [("day", "cap"), ("day", "soft_alert"), ("month", "soft_alert")]
    alice.call("POST", f"/api/v1/tasks/{task.id}/execute", {"variables": {}})
    assert len([1 for kind, _ in sent if kind == "BudgetReached"]) == 3


def test_a_run_in_progress_stops_after_the_turn_that_reached_the_cap(
    alice: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _events(monkeypatch)
    # Given a daily cap that one model call reaches
    alice.call("PUT", "/api/v1/limits", {"daily_usd": 0.000001})
    execution_id = pending_execution(stored_task("alice"))
    provider = _PricedProvider()
    # When the execution runs
    assert _run(execution_id, provider) == {"next": "finalize"}
    # Then it stopped after that first call with outcome budget_exceeded
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.result_data is not None
    assert execution.result_data.outcome == "budget_exceeded"
    assert provider.calls == 1


def test_without_caps_a_run_goes_to_its_end(alice: Api) -> None:
    execution_id = pending_execution(stored_task("alice"))
    provider = _PricedProvider()
    _run(execution_id, provider)
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.result_data is not None
    assert execution.result_data.outcome == "completed"
    assert provider.calls == 4
