"""The approval service on the fakes of our ports (Step Functions and the bus are not the subject):
request → ApprovalRequested, answered once, the token handed back by exactly one side, released on cancel."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent_tasks.errors import ConflictError, NotFoundError
from agent_tasks.models.approvals import ApprovalConfig, DecisionRequest
from agent_tasks.models.transcript import PendingToolCall
from agent_tasks.scrub import Scrubber
from agent_tasks.services import approvals
from agent_tasks.services import executions as execution_service
from agent_tasks.services.actor import Actor
from agent_tasks.store import audit as audit_store
from agent_tasks.store import executions as execution_store
from tests.support.executions import pending_execution, stored_task
from tests.support.fixtures import FakePorts

ALICE = Actor(user_id="user-1")
CALL = PendingToolCall(
    tool_use_id="toolu_1",
    tool="bash",
    input={"command": "curl -H 'Authorization: Bearer tok-SECRET-123' https://api.example.com"},
    text="I will call the API.",
)


def _waiting(**config: Any) -> tuple[str, str]:
    """An execution running a task with approval on bash, which asked about CALL."""
    task = stored_task(approval={"tools": ["bash"], **config}, allowed_tools=["bash"])
    execution_id = pending_execution(task)
    execution = execution_store.update(execution_id, {"status": "running"})
    assert execution is not None
    setting = approvals.config_of(execution)
    assert setting is not None
    request = approvals.request(execution, CALL, setting, Scrubber({"API_TOKEN": "tok-SECRET-123"}))
    return execution_id, request.id


def test_a_request_is_stored_scrubbed_announced_and_the_execution_waits(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    # Given / When a run asks about a call whose input holds a secret
    execution_id, approval_id = _waiting(timeout_seconds=120)
    # Then the request is stored without the secret, and the execution waits on it
    [stored] = approvals.list_approvals(ALICE, execution_id).items
    assert stored.id == approval_id
    assert stored.status == "pending"
    assert "tok-SECRET-123" not in json.dumps(stored.input)
    assert "[secret:API_TOKEN]" in stored.input["command"]
    assert (stored.expires_at - stored.requested_at).total_seconds() == 120
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert (execution.status, execution.pending_approval_id) == ("waiting_for_approval", approval_id)
    # And ApprovalRequested went on the bus with the call, the deadline and the links
    [(detail_type, detail)] = fake_ports.event_bus.published
    assert detail_type == "ApprovalRequested"
    body = json.loads(detail)
    assert set(body) == {
        "task_id", "owner_id", "execution_id", "approval_id", "tool", "input", "text", "expires_at",
        "approve_url", "deny_url",
    }  # fmt: skip
    assert body["approval_id"] == approval_id
    assert body["text"] == "I will call the API."
    assert "tok-SECRET-123" not in detail
    # And a retried RunAgent finds the same request rather than asking twice
    again = approvals.request(
        execution_store.get(execution_id), CALL, ApprovalConfig(tools=["bash"]), Scrubber({})
    )  # type: ignore[arg-type]
    assert again.id == approval_id
    assert len(fake_ports.event_bus.published) == 1


def test_an_answer_is_taken_once_audited_and_resumes_the_workflow(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    # Given a request whose wait has begun (the workflow's token kept on it)
    execution_id, approval_id = _waiting()
    assert approvals.await_approval(execution_id, approval_id, "token-1") == {"waiting": approval_id}
    # When the owner denies it
    answer = approvals.decide(ALICE, execution_id, approval_id, DecisionRequest(decision="deny", reason="no"))
    # Then it is denied, the workflow resumed once, and the answer audited
    assert (answer.status, answer.reason, answer.decided_by) == ("denied", "no", "user-1")
    assert [token for token, _ in fake_ports.workflows.resumed] == ["token-1"]
    events = audit_store.list_events("user-1", limit=50, start_key=None)[0]
    assert [e.details["approval_id"] for e in events if e.action == "execution.approval_denied"] == [
        approval_id
    ]
    # And a second answer is a conflict that changes nothing
    with pytest.raises(ConflictError):
        approvals.decide(ALICE, execution_id, approval_id, DecisionRequest(decision="approve"))
    assert len(fake_ports.workflows.resumed) == 1
    # And another user's answer is a 404
    with pytest.raises(NotFoundError):
        approvals.decide(
            Actor(user_id="mallory"), execution_id, approval_id, DecisionRequest(decision="approve")
        )


def test_an_answer_before_the_wait_began_is_handed_back_by_the_wait(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    # Given a request answered before the workflow kept its token
    execution_id, approval_id = _waiting()
    approvals.decide(ALICE, execution_id, approval_id, DecisionRequest(decision="approve"))
    assert fake_ports.workflows.resumed == []
    # When the wait begins
    approvals.await_approval(execution_id, approval_id, "token-late")
    # Then the wait hands its own token straight back
    assert [token for token, _ in fake_ports.workflows.resumed] == ["token-late"]


def test_the_store_takes_one_of_two_answers(aws: dict[str, str], fake_ports: FakePorts) -> None:
    # Given a pending request / When two answers are written (the conditional write both would make)
    from agent_tasks.models.common import utc_now
    from agent_tasks.store import approvals as approval_store

    execution_id, approval_id = _waiting()

    def answer(status: Any) -> bool:
        audit = audit_store.new_event(
            actor_id="user-1", owner_id="user-1", action="execution.approval_" + status,
            resource_type="execution", resource_id=execution_id, at=utc_now(), request_id=None,
        )  # fmt: skip
        return approval_store.answer(
            execution_id, approval_id, status=status, decided_at=utc_now(), decided_by="user-1", reason=None,
            audit=audit,
        )  # fmt: skip

    # Then exactly the first is stored
    assert [answer("approved"), answer("denied")] == [True, False]
    stored = approval_store.get(execution_id, approval_id)
    assert stored is not None
    assert stored.status == "approved"


def test_a_timeout_applies_on_timeout_unless_an_answer_won(
    aws: dict[str, str], fake_ports: FakePorts
) -> None:
    execution_id, approval_id = _waiting(on_timeout="approve")
    approvals.time_out(execution_id, approval_id)
    [stored] = approvals.list_approvals(ALICE, execution_id).items
    assert (stored.status, stored.decision) == ("timed_out", "approve")
    with pytest.raises(ConflictError):
        approvals.decide(ALICE, execution_id, approval_id, DecisionRequest(decision="deny"))


def test_cancel_while_waiting_releases_the_wait(aws: dict[str, str], fake_ports: FakePorts) -> None:
    # Given a waiting execution whose workflow holds a token
    execution_id, approval_id = _waiting()
    approvals.await_approval(execution_id, approval_id, "token-2")
    # When its owner cancels it
    cancelled = execution_service.cancel(ALICE, execution_id)
    # Then it is cancelled, the request settled and the wait released with SendTaskFailure
    assert cancelled.status == "cancelled"
    assert fake_ports.workflows.released == [("token-2", approvals.CANCELLED_ERROR)]
    [stored] = approvals.list_approvals(ALICE, execution_id).items
    assert stored.status == "cancelled"


def test_the_request_links_are_absolute_when_the_deployment_names_its_base(
    aws: dict[str, str], fake_ports: FakePorts, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_tasks.settings import get_settings

    # Given a deployment whose public API base is set
    monkeypatch.setenv("API_BASE_URL", "https://tasks.example.com/")
    get_settings.cache_clear()
    try:
        # When a run asks about a call
        execution_id, approval_id = _waiting()
    finally:
        monkeypatch.delenv("API_BASE_URL")
        get_settings.cache_clear()
    # Then the event's links are where a person can POST the decision
    [(_, detail)] = fake_ports.event_bus.published
    body = json.loads(detail)
    expected = f"https://tasks.example.com/api/v1/task-executions/{execution_id}/approvals/{approval_id}"
    assert (body["approve_url"], body["deny_url"]) == (expected, expected)
