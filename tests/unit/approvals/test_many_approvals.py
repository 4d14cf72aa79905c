"""An execution with more approval requests than one read of the store holds (more than 200): the current
call's request and its decision are still found, and the API pages through every request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from agent_tasks.models.approvals import Approval, DecisionRequest
from agent_tasks.models.common import utc_now
from agent_tasks.models.executions import Execution
from agent_tasks.models.transcript import PendingToolCall
from agent_tasks.scrub import Scrubber
from agent_tasks.services import approvals
from agent_tasks.services.actor import Actor
from agent_tasks.store import approvals as approval_store
from agent_tasks.store import executions as execution_store
from tests.support.api_calls import Api
from tests.support.executions import pending_execution, stored_task
from tests.support.fixtures import FakePorts, LambdaClient

ALICE = Actor(user_id="user-1")
CALL = PendingToolCall(tool_use_id="toolu_current", tool="bash", input={"command": "ls"}, text=None)
EARLIER = 250


def _low_id(n: int) -> str:
    """An id that sorts before any random one: an old read of the first 200 items saw only these."""
    return f"00000000-0000-4000-8000-{n:012d}"


def _running(owner: str = "user-1") -> Execution:
    task = stored_task(owner, approval={"tools": ["bash"]}, allowed_tools=["bash"])
    execution = execution_store.update(pending_execution(task), {"status": "running"})
    assert execution is not None
    return execution


def _stored(execution: Execution, approval_id: str, tool_use_id: str, **fields: Any) -> Approval:
    """An approval request written through the store, as the service writes one."""
    at = fields.pop("requested_at", utc_now())
    approval = Approval(
        id=approval_id,
        execution_id=execution.id,
        task_id=execution.task_id,
        owner_id=execution.owner_id,
        tool_use_id=tool_use_id,
        tool="bash",
        input={"command": "true"},
        status=fields.pop("status", "approved"),
        decided_by=fields.pop("decided_by", "user-1"),
        decided_at=at,
        requested_at=at,
        expires_at=at + timedelta(seconds=600),
        timeout_seconds=600,
        on_timeout="deny",
        **fields,
    )
    assert approval_store.put(approval)
    return approval


def _earlier(execution: Execution, count: int = EARLIER) -> list[Approval]:
    start = utc_now() - timedelta(hours=1)
    return [
        _stored(execution, _low_id(n), f"toolu_earlier_{n:04d}", requested_at=start + timedelta(seconds=n))
        for n in range(count)
    ]


def _resumed(execution_id: str) -> Execution:
    """The execution back to `running`, as RunAgent finds it after a wait."""
    execution = execution_store.update(execution_id, {"status": "running", "pending_approval_id": None})
    assert execution is not None
    return execution


def _ask(execution: Execution) -> Approval:
    """RunAgent asks about CALL (the task's approval setting applied)."""
    setting = approvals.config_of(execution)
    assert setting is not None
    return approvals.request(execution, CALL, setting, Scrubber({}))


def test_a_retried_request_finds_its_approval_after_250_earlier_ones(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    # Given an execution that already asked about 250 earlier calls
    execution = _running()
    _earlier(execution)
    # When the run asks about the current call, and a retried RunAgent asks again
    first = _ask(execution)
    again = _ask(_resumed(execution.id))
    # Then the retry finds the same request: no second one is stored or announced
    assert again.id == first.id
    assert len(approval_store.list_for_execution(execution.id)) == EARLIER + 1
    assert len(fake_ports.event_bus.published) == 1


def test_the_current_calls_decision_is_found_after_250_earlier_requests(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    # Given an execution with 250 earlier requests, whose request about the current call was denied
    execution = _running()
    _earlier(execution)
    request = _ask(execution)
    approvals.decide(ALICE, execution.id, request.id, DecisionRequest(decision="deny", reason="not now"))
    # When RunAgent reads the decisions the loop applies
    decisions = approvals.decisions_for(approvals.list_approvals_of(execution.id))
    # Then the current call's denial is among them, with every earlier decision
    assert decisions[CALL.tool_use_id].decision == "deny"
    assert decisions[CALL.tool_use_id].approval_id == request.id
    assert len(decisions) == EARLIER + 1


def test_a_request_stored_under_an_old_random_id_is_still_found(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    # Given an execution (in flight at deploy time) whose request about the current call was stored
    # under a random id, after 250 earlier ones
    execution = _running()
    _earlier(execution)
    legacy = _stored(
        execution, "ffffffff-0000-4000-8000-000000000000", CALL.tool_use_id, status="pending", decided_by=None
    )
    # When a retried RunAgent asks about the call
    found = _ask(execution)
    # Then it finds that request: nothing new is stored or announced
    assert found.id == legacy.id
    assert len(approval_store.list_for_execution(execution.id)) == EARLIER + 1
    assert fake_ports.event_bus.published == []


def test_the_api_pages_through_every_approval_oldest_first(api: LambdaClient, aws: dict[str, str]) -> None:
    # Given an execution of alice's with 250 approval requests
    execution = _running("alice")
    earlier = _earlier(execution)
    path = f"/api/v1/task-executions/{execution.id}/approvals"
    alice = Api(api, "alice")
    # When she follows `next_cursor` from the first page
    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = {"page_size": "100", **({"cursor": cursor} if cursor else {})}
        status, body, _ = alice.call("GET", path, query=query)
        assert status == 200, body
        assert body["total"] == EARLIER
        seen.extend(item["id"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert "next" in body["_links"]
    # Then every request came exactly once, oldest first
    assert seen == [a.id for a in earlier]


@pytest.mark.parametrize(
    ("query", "status", "loc"),
    [
        ({"cursor": "not-a-cursor"}, 400, ["query", "cursor"]),
        ({"page_size": "0"}, 422, ["query", "page_size"]),
        ({"page_size": "101"}, 422, ["query", "page_size"]),
    ],
)
def test_a_bad_page_of_approvals_is_refused_naming_the_field(
    api: LambdaClient, aws: dict[str, str], query: dict[str, str], status: int, loc: list[str]
) -> None:
    # Given an execution of alice's with a request
    execution = _running("alice")
    _earlier(execution, 1)
    # When she asks for a bad page / Then the answer names the field
    answer, body, _ = Api(api, "alice").call(
        "GET", f"/api/v1/task-executions/{execution.id}/approvals", query=query
    )
    assert answer == status, body
    assert body["error"]["details"][0]["loc"] == loc


def test_another_users_approvals_answer_404(api: LambdaClient, aws: dict[str, str]) -> None:
    # Given alice's execution with a request
    execution = _running("alice")
    _earlier(execution, 1)
    # When bob lists them / Then it is a 404
    status, _, _ = Api(api, "bob").call("GET", f"/api/v1/task-executions/{execution.id}/approvals")
    assert status == 404
