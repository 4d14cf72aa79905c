"""Human approval end to end in the local cloud: a tool call pauses the run on a Step Functions task
token (moto's interpreter runs the `.waitForTaskToken` state), the owner answers through the API, and
the run goes on. The model is the real `anthropic` client against the local Messages server.

Timeouts: the shortest wait the service allows is 60 s and tests never sleep, so the local cloud ends
a wait as its TimeoutSeconds would (`local_cloud.time_out_waits`: the state fails with States.Timeout).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3
import httpx2 as httpx
import pytest

from tests.support.approvals import finished_run, waiting_request
from tests.support.executions import stored_task
from tests.support.messages_server import MessagesServer, text_reply, tool_use_reply
from tests.support.polling import wait_until

APPROVAL = {"tools": ["write_file"], "timeout_seconds": 600, "on_timeout": "deny"}


@pytest.fixture
def client(user_clients: Callable[[str], httpx.Client]) -> Callable[[str], httpx.Client]:
    return user_clients  # tests/support/fixtures.py


def _execution(http: httpx.Client, execution_id: str) -> dict[str, Any]:
    body: dict[str, Any] = http.get(f"/api/v1/task-executions/{execution_id}").json()
    return body


def finished(http: httpx.Client, execution_id: str) -> dict[str, Any]:
    return finished_run(http, execution_id)


def waiting(http: httpx.Client, execution_id: str, *, asked: int = 1) -> dict[str, Any]:
    return waiting_request(http, execution_id, asked=asked)


def start(http: httpx.Client, task_id: str) -> str:
    answer = http.post(f"/api/v1/tasks/{task_id}/execute", json={"variables": {}})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def decide(http: httpx.Client, execution_id: str, approval_id: str, **body: Any) -> httpx.Response:
    return http.post(f"/api/v1/task-executions/{execution_id}/approvals/{approval_id}", json=body)


def workflow_status(local_cloud: Any, execution_id: str) -> str:
    arn = local_cloud.stack.outputs["StateMachineArn"].replace(":stateMachine:", ":execution:")
    status: str = boto3.client("stepfunctions").describe_execution(executionArn=f"{arn}:{execution_id}")[
        "status"
    ]
    return status


def _tool_results(request_messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        block
        for message in request_messages
        if message["role"] == "user"
        for block in message["content"]
        if block.get("type") == "tool_result"
    ]


WRITE = ("write_file", {"path": "release.txt", "content": "ship it"})


def test_an_approved_call_runs_after_the_owner_approves_and_the_run_completes(
    local_cloud: Any, client: Callable[[str], httpx.Client], model: MessagesServer
) -> None:
    # Given a task whose write_file calls wait for approval, and a model that writes then answers
    model.enqueue(tool_use_reply(WRITE, text="I will write the release note."), text_reply("Written."))
    alice = client("alice")
    task = stored_task(
        "alice",
        approval=APPROVAL,
        prompt_template="Write the release note.",
        generate_report=True,
        report_format="markdown",
    )
    # When it runs, it stops before the call and waits for a person
    execution_id = start(alice, task.id)
    request = waiting(alice, execution_id)
    assert request["tool"] == "write_file"
    assert request["input"] == {"path": "release.txt", "content": "ship it"}
    assert request["text"] == "I will write the release note."
    assert request["on_timeout"] == "deny"
    assert request["timeout_seconds"] == 600
    assert "task_token" not in request
    assert _execution(alice, execution_id)["pending_approval_id"] == request["id"]
    assert len(model.requests) == 1  # nothing ran meanwhile
    # And the owner approves it
    answer = decide(alice, execution_id, request["id"], decision="approve", reason="looks right")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "approved"
    assert answer.json()["decided_by"] == "alice"
    # Then the call ran and the run completed
    done = finished(alice, execution_id)
    assert done["status"] == "completed", done
    assert done["result_data"]["final_text"] == "Written."
    [result] = _tool_results(model.requests[1].messages)
    assert not result.get("is_error"), result
    # And a second answer is refused
    again = decide(alice, execution_id, request["id"], decision="deny")
    assert again.status_code == 409, again.text
    # And the transcript keeps the decision with the tool result
    messages = alice.get(f"/api/v1/sessions/{done['session_id']}/messages").json()["items"]
    [with_decision] = [m for m in messages if m.get("approvals")]
    assert with_decision["approvals"][0]["decision"] == "approve"
    assert with_decision["approvals"][0]["approval_id"] == request["id"]
    # And the report the run made shows the held call and who decided it, and why
    report = alice.get(f"/api/v1/reports/{done['report_id']}").json()
    text = httpx.get(report["download_url"]).text
    assert "**Approval of write\\_file: approved by alice**" in text
    assert "looks right" in text
    assert "I will write the release note." in text  # the model's text before the held call
    # And the answer is in the audit trail
    audit = alice.get("/api/v1/audit-events").json()["items"]
    assert any(
        e["action"] == "execution.approval_approved" and e["resource_id"] == execution_id for e in audit
    )


def test_a_denied_call_gives_the_model_the_reason_and_the_run_goes_on(
    local_cloud: Any, client: Callable[[str], httpx.Client], model: MessagesServer
) -> None:
    # Given a waiting call
    model.enqueue(tool_use_reply(WRITE), text_reply("Understood, not written."))
    alice = client("alice")
    task = stored_task("alice", approval=APPROVAL, prompt_template="Write the release note.")
    execution_id = start(alice, task.id)
    request = waiting(alice, execution_id)
    # When the owner denies it with a reason
    answer = decide(alice, execution_id, request["id"], decision="deny", reason="not before the freeze ends")
    assert answer.status_code == 200, answer.text
    # Then the model got a tool error carrying the reason, and the run completed
    done = finished(alice, execution_id)
    assert done["status"] == "completed", done
    [result] = _tool_results(model.requests[1].messages)
    assert result["is_error"] is True
    assert "not before the freeze ends" in result["content"]
    assert done["permission_denials"][0]["name"] == "write_file"


@pytest.mark.parametrize(("on_timeout", "is_error"), [("deny", True), ("approve", False)])
def test_an_unanswered_request_times_out_and_on_timeout_applies(
    local_cloud: Any,
    client: Callable[[str], httpx.Client],
    model: MessagesServer,
    on_timeout: str,
    is_error: bool,
) -> None:
    # Given a waiting call whose task says what a timeout means
    model.enqueue(tool_use_reply(WRITE), text_reply("Done."))
    alice = client("alice")
    task = stored_task(
        "alice", approval={**APPROVAL, "on_timeout": on_timeout}, prompt_template="Write the release note."
    )
    execution_id = start(alice, task.id)
    request = waiting(alice, execution_id)
    # When the wait times out (its TimeoutSeconds, driven by the local cloud rather than slept)
    assert local_cloud.time_out_waits(execution_id) == 1
    # Then the request is timed_out, on_timeout applied, and the run completed
    done = finished(alice, execution_id)
    assert done["status"] == "completed", done["error_message"]
    [item] = alice.get(f"/api/v1/task-executions/{execution_id}/approvals").json()["items"]
    assert item["status"] == "timed_out"
    assert item["decided_by"] == "timeout"
    [result] = _tool_results(model.requests[1].messages)
    assert bool(result.get("is_error")) is is_error, result
    # And an answer after the timeout is refused
    late = decide(alice, execution_id, request["id"], decision="approve")
    assert late.status_code == 409, late.text


def test_cancel_while_waiting_ends_cancelled_and_releases_the_wait(
    local_cloud: Any, client: Callable[[str], httpx.Client], model: MessagesServer
) -> None:
    # Given a waiting call
    model.enqueue(tool_use_reply(WRITE))
    alice = client("alice")
    task = stored_task("alice", approval=APPROVAL, prompt_template="Write the release note.")
    execution_id = start(alice, task.id)
    request = waiting(alice, execution_id)
    # When the owner cancels the execution
    answer = alice.post(f"/api/v1/task-executions/{execution_id}/cancel")
    assert answer.status_code == 200, answer.text
    # Then it is cancelled, the request is settled, and the workflow is no longer waiting
    assert answer.json()["status"] == "cancelled"
    [item] = alice.get(f"/api/v1/task-executions/{execution_id}/approvals").json()["items"]
    assert item["status"] == "cancelled"
    wait_until(lambda: workflow_status(local_cloud, execution_id) != "RUNNING", what="the workflow to end")
    assert decide(alice, execution_id, request["id"], decision="approve").status_code == 409
    assert len(model.requests) == 1


def test_two_calls_in_one_turn_are_asked_one_at_a_time(
    local_cloud: Any, client: Callable[[str], httpx.Client], model: MessagesServer
) -> None:
    # Given a model that makes two gated calls in one turn
    second = ("write_file", {"path": "notes.txt", "content": "later"})
    model.enqueue(tool_use_reply(WRITE, second), text_reply("One written, one not."))
    alice = client("alice")
    task = stored_task("alice", approval=APPROVAL, prompt_template="Write both files.")
    execution_id = start(alice, task.id)
    # When the first is approved and then the second denied
    first = waiting(alice, execution_id, asked=1)
    assert first["input"]["path"] == "release.txt"
    approved = decide(alice, execution_id, first["id"], decision="approve")
    assert approved.status_code == 200, approved.text
    then = waiting(alice, execution_id, asked=2)
    assert then["input"]["path"] == "notes.txt"
    assert decide(alice, execution_id, then["id"], decision="deny", reason="no").status_code == 200
    # Then both results went back together, one run and one refused, and the run completed
    done = finished(alice, execution_id)
    assert done["status"] == "completed", done
    results = _tool_results(model.requests[1].messages)
    assert [bool(r.get("is_error")) for r in results] == [False, True]
    assert len(model.requests) == 2


def test_another_user_gets_404_and_a_bad_answer_422(
    local_cloud: Any, client: Callable[[str], httpx.Client], model: MessagesServer
) -> None:
    # Given alice's waiting call
    model.enqueue(tool_use_reply(WRITE), text_reply("Done."))
    alice, mallory = client("alice"), client("mallory")
    task = stored_task("alice", approval=APPROVAL, prompt_template="Write the release note.")
    execution_id = start(alice, task.id)
    request = waiting(alice, execution_id)
    # When another user lists or answers it / Then 404, and nothing changed
    assert mallory.get(f"/api/v1/task-executions/{execution_id}/approvals").status_code == 404
    assert decide(mallory, execution_id, request["id"], decision="approve").status_code == 404
    # And a malformed answer is a 422 naming the field
    bad = decide(alice, execution_id, request["id"], decision="maybe")
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["loc"][-1] == "decision"
    assert decide(alice, execution_id, "no-such-id", decision="approve").status_code == 404
    # And the request is still pending for its owner, who approves it
    assert decide(alice, execution_id, request["id"], decision="approve").status_code == 200
    assert finished(alice, execution_id)["status"] == "completed"


def test_a_scheduled_run_waiting_for_approval_counts_as_running_under_skip(
    local_cloud: Any, client: Callable[[str], httpx.Client]
) -> None:
    # Given a task scheduled every minute under the skip overlap policy, whose write_file waits for a
    # person (the scripted provider writes a notes file)
    alice = client("sched-approvals")
    created = alice.post(
        "/api/v1/tasks",
        json={
            "name": "Gated every minute",
            "prompt_template": "Write a short status note.",
            "allowed_tools": ["read_file", "write_file", "list_files"],
            "sdk_options": {"max_turns": 10},
            "is_scheduled": True,
            "schedule_cron": "* * * * *",
            "overlap_policy": "skip",
            "approval": {"tools": ["write_file"]},
        },
    )
    assert created.status_code == 201, created.text
    task = created.json()
    first_slot = datetime.fromisoformat(task["next_run_at"])
    assert local_cloud.rules.fire("SchedulerFunctionTick", at=first_slot)["dispatched"] >= 1
    local_cloud.queues.drain("StarterFunction")
    [execution] = alice.get(f"/api/v1/tasks/{task['id']}/executions").json()["items"]
    waiting(alice, execution["id"])
    listed = alice.get(f"/api/v1/tasks/{task['id']}/executions", params={"status": "waiting_for_approval"})
    assert [e["id"] for e in listed.json()["items"]] == [execution["id"]]
    # When a run of the schedule is asked for while it waits (the next slot is more than the tick's
    # minute ahead, so this drives the same skip check through run-now; the tick's own skip is
    # tests/unit/schedules/test_skip_while_waiting_for_approval.py)
    again = alice.post(f"/api/v1/tasks/{task['id']}/run-now", json={})
    # Then it is refused under skip: the waiting run counts as running
    assert again.status_code == 409, again.text
    assert alice.get(f"/api/v1/tasks/{task['id']}/executions").json()["total"] == 1
    # And cancelling the waiting run ends it
    assert alice.post(f"/api/v1/task-executions/{execution['id']}/cancel").json()["status"] == "cancelled"
