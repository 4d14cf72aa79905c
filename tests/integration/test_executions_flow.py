"""Executions end to end in the local cloud, through the HTTP front: execute → poll → transcript.

The workflow really runs in moto's Step Functions; the executor runs in this process, so a test
can swap the model provider or break a step for the length of one test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx2 as httpx
import pytest

from agent_tasks.agent.pricing import price_table
from agent_tasks.agent.scripted import NOTES_FILE, ScriptedProvider
from agent_tasks.models.tasks import Task
from agent_tasks.settings import get_settings
from agent_tasks.store import executions as execution_store
from agent_tasks.store import workspaces
from tests.support.executions import stored_task
from tests.support.messages_server import MessagesServer, error_reply, text_reply, tool_use_reply
from tests.support.polling import POLL_LIMIT_SECONDS, wait_until

TERMINAL = {"completed", "failed", "cancelled", "timed_out"}


@pytest.fixture
def client(user_clients: Callable[[str], httpx.Client]) -> Callable[[str], httpx.Client]:
    return user_clients  # tests/support/fixtures.py


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set environment variables the in-process functions read, for this test only."""

    def apply(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


def finished(http: httpx.Client, execution_id: str) -> dict[str, Any]:
    def poll() -> dict[str, Any] | None:
        body: dict[str, Any] = http.get(f"/api/v1/task-executions/{execution_id}").json()
        return body if body["status"] in TERMINAL else None

    result: dict[str, Any] = wait_until(poll, what=f"execution {execution_id} to finish")
    return result


def execute(
    http: httpx.Client, task: Task, variables: dict[str, Any] | None = None, **kwargs: Any
) -> httpx.Response:
    return http.post(f"/api/v1/tasks/{task.id}/execute", json={"variables": variables or {}}, **kwargs)


def workflow_status(local_cloud: Any, execution_id: str) -> str:
    arn = local_cloud.stack.outputs["StateMachineArn"].replace(":stateMachine:", ":execution:")
    status: str = boto3.client("stepfunctions").describe_execution(executionArn=f"{arn}:{execution_id}")[
        "status"
    ]
    return status


def test_execute_with_variables_then_poll_gives_the_completed_execution_and_its_transcript(
    local_cloud: Any, client: Callable[[str], httpx.Client]
) -> None:
    # Given alice's task with a templated prompt
    alice = client("alice")
    task = stored_task("alice")
    # When she executes it with variables
    started = execute(alice, task, {"topic": "Q3 sales", "audience": "the board"})
    # Then she gets 202, a Location and links that are never null
    assert started.status_code == 202, started.text
    body = started.json()
    assert started.headers["location"] == f"/api/v1/task-executions/{body['id']}"
    assert body["status"] == "pending"
    assert body["_links"]["self"] == f"/api/v1/task-executions/{body['id']}"
    assert body["_links"]["task"] == f"/api/v1/tasks/{task.id}"
    assert None not in body["_links"].values()
    assert body["trigger_type"] == "manual"
    # And polling gives the completed execution
    done = finished(alice, body["id"])
    assert done["status"] == "completed", done
    assert done["rendered_prompt"] == "Summarise the Q3 sales notes for the board."
    assert done["prompt_variables"] == {"topic": "Q3 sales", "audience": "the board"}
    assert done["total_messages"] == 8
    assert done["total_tool_calls"] == 3
    assert done["duration_seconds"] is not None
    assert done["duration_seconds"] > 0
    assert done["provider"] == "scripted"
    assert done["task_version"] == 1
    assert done["task_snapshot"]["name"] == task.name
    assert done["result_data"]["outcome"] == "completed"
    assert "Summarise the Q3 sales notes for the board." in done["result_data"]["final_text"]
    assert done["usage"]["input_tokens"] > 0
    assert {"self", "task", "session", "messages", "rerun"} <= set(done["_links"])
    assert "cancel" not in done["_links"]
    # And its end was published on the bus (recorded just after the status changed)
    notified = wait_until(
        lambda: alice.get(f"/api/v1/task-executions/{body['id']}").json()["notifications"],
        what="the notification record",
    )
    assert notified[0] == {
        "destination": "eventbridge",
        "status": "delivered",
        "event_id": notified[0]["event_id"],
        "detail": None,
        "webhook": None,
    }
    assert wait_until(lambda: workflow_status(local_cloud, body["id"]) == "SUCCEEDED", what="the workflow")
    # And the session is named after the task and trigger, with the transcript in order
    session = alice.get(done["_links"]["session"]).json()
    assert session["name"] == f"Task: {task.name} (manual)"
    assert session["model"] == "claude-sonnet-5-5"
    assert session["message_count"] == 8
    first_page = alice.get(done["_links"]["messages"], params={"page_size": 5}).json()
    assert [m["seq"] for m in first_page["items"]] == [1, 2, 3, 4, 5]
    assert first_page["total"] == 8
    assert first_page["next_cursor"]
    assert first_page["items"][0]["content"] == [
        {"type": "text", "text": "Summarise the Q3 sales notes for the board."}
    ]
    rest = alice.get(
        done["_links"]["messages"], params={"page_size": 5, "cursor": first_page["next_cursor"]}
    ).json()
    assert [m["seq"] for m in rest["items"]] == [6, 7, 8]
    assert rest["next_cursor"] is None
    assert rest["items"][-1]["role"] == "assistant"
    # And the task's executions list it
    listed = alice.get(f"/api/v1/tasks/{task.id}/executions").json()
    assert [e["id"] for e in listed["items"]] == [body["id"]]
    assert listed["total"] == 1


def test_a_run_longer_than_one_invocation_resumes_with_its_transcript_and_files(
    local_cloud: Any, client: Callable[[str], httpx.Client], settings_env: Callable[..., None]
) -> None:
    # Given each RunAgent invocation may make only one model call
    settings_env(RUN_AGENT_MAX_MODEL_CALLS="1")
    alice = client("alice")
    task = stored_task("alice")
    # When the task runs (list files, write notes, read them back, answer)
    execution_id = execute(alice, task, {"topic": "ops", "audience": "on-call"}).json()["id"]
    done = finished(alice, execution_id)
    # Then it completed across several invocations, with the transcript intact
    assert done["status"] == "completed", done
    stored = execution_store.get(execution_id)
    assert stored is not None
    assert stored.agent_state is not None
    assert stored.agent_state.invocations == 4
    messages = alice.get(done["_links"]["messages"], params={"page_size": 100}).json()["items"]
    assert [m["seq"] for m in messages] == list(range(1, 9))
    # And the notes written in one invocation were read back in a later one
    read_result = messages[-2]["content"][0]
    assert read_result["type"] == "tool_result"
    assert not read_result.get("is_error")
    assert "Notes (scripted run)" in read_result["content"]
    assert "read_file (ok)" in done["result_data"]["final_text"]
    # (with one model call per invocation the write runs in the third, the read in the fourth)
    write_call = next(b for b in messages[3]["content"] if b["type"] == "tool_use")
    assert write_call["name"] == "write_file"
    assert write_call["input"]["path"] == NOTES_FILE
    # And the saved working directory is gone at the end
    s3 = boto3.client("s3")
    listing = s3.list_objects_v2(
        Bucket=local_cloud.stack.outputs["BucketName"], Prefix=workspaces.workspace_key("alice", execution_id)
    )
    assert listing.get("KeyCount", 0) == 0


class _BlockingProvider:
    """The scripted model, except that one of its calls waits until the test lets it go."""

    def __init__(self, blocking_call: int = 2) -> None:
        self.inner = ScriptedProvider()
        self.calls = 0
        self.blocking_call = blocking_call
        self.second_call_started = threading.Event()
        self.release = threading.Event()

    @property
    def name(self) -> str:
        return "scripted"

    def create_message(self, request: Any) -> Any:
        self.calls += 1
        if self.calls == self.blocking_call:
            self.second_call_started.set()
            self.release.wait(POLL_LIMIT_SECONDS)
        return self.inner.create_message(request)


def test_cancel_while_running_marks_cancelled_and_the_loop_stops(
    local_cloud: Any, client: Callable[[str], httpx.Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_tasks.services.workflow import running

    # Given an execution whose model is in the middle of its second call
    provider = _BlockingProvider()
    monkeypatch.setattr(running, "select_provider", lambda: provider)
    runs: list[dict[str, Any]] = []
    ended = threading.Event()
    after_run = running._after_run

    def record(*args: Any, **kwargs: Any) -> dict[str, Any]:
        result = after_run(*args, **kwargs)
        runs.append(result)
        ended.set()
        return result

    monkeypatch.setattr(running, "_after_run", record)
    alice = client("alice")
    task = stored_task("alice")
    execution_id = execute(alice, task).json()["id"]
    assert provider.second_call_started.wait(POLL_LIMIT_SECONDS)
    # When alice cancels it
    cancelled = alice.post(f"/api/v1/task-executions/{execution_id}/cancel")
    provider.release.set()
    # Then it is cancelled at once, with the workflow stopped
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert "cancel" not in cancelled.json()["_links"]
    assert "rerun" in cancelled.json()["_links"]
    # And the loop stops between turns: no tool runs after the cancel, nothing overwrites the status
    assert ended.wait(POLL_LIMIT_SECONDS)
    # (moto reports the stop once the step in flight returns; AWS reports it at once)
    assert wait_until(lambda: workflow_status(local_cloud, execution_id) == "ABORTED", what="the stop")
    assert runs == [{"next": "stop"}]
    assert provider.calls == 2
    final = alice.get(f"/api/v1/task-executions/{execution_id}").json()
    assert final["status"] == "cancelled"
    assert final["error_message"] == "cancelled by the user"
    # And cancelling again is a conflict
    again = alice.post(f"/api/v1/task-executions/{execution_id}/cancel")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_a_run_past_the_tasks_timeout_ends_timed_out(
    local_cloud: Any,
    client: Callable[[str], httpx.Client],
    monkeypatch: pytest.MonkeyPatch,
    settings_env: Callable[..., None],
) -> None:
    from agent_tasks.services.workflow import running

    # Given a run that resumes after every model call, and whose first call is still going
    settings_env(RUN_AGENT_MAX_MODEL_CALLS="1")
    provider = _BlockingProvider(blocking_call=1)
    monkeypatch.setattr(running, "select_provider", lambda: provider)
    alice = client("alice")
    task = stored_task("alice", sdk_options={"timeout_seconds": 10})
    execution_id = execute(alice, task).json()["id"]
    assert provider.second_call_started.wait(POLL_LIMIT_SECONDS)
    # When its deadline passes meanwhile (moved into the past rather than waiting ten seconds)
    execution_store.update(execution_id, {"deadline_at": "2000-01-01T00:00:00+00:00"})
    provider.release.set()
    # Then the next RunAgent ends it timed_out, saying why, and nothing runs after that
    done = finished(alice, execution_id)
    assert done["status"] == "timed_out"
    assert done["error_message"] == "the execution ran longer than the task's timeout_seconds (10)"
    assert provider.calls == 1
    assert wait_until(lambda: workflow_status(local_cloud, execution_id) == "SUCCEEDED", what="the workflow")


def test_a_step_that_raises_fails_the_execution_with_the_reason(
    local_cloud: Any, client: Callable[[str], httpx.Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given restoring the working directory breaks
    def broken(*_args: Any) -> bool:
        raise RuntimeError("the workspace archive is unreadable")

    monkeypatch.setattr(workspaces, "restore", broken)
    alice = client("alice")
    task = stored_task("alice")
    # When the task runs
    done = finished(alice, execute(alice, task).json()["id"])
    # Then the execution failed with the reason and no stack trace
    assert done["status"] == "failed"
    assert done["error_message"] == "RuntimeError: the workspace archive is unreadable"
    assert wait_until(
        lambda: workflow_status(local_cloud, done["id"]) == "FAILED", what="the workflow to fail"
    )


def test_the_same_idempotency_key_twice_starts_one_execution(
    local_cloud: Any, client: Callable[[str], httpx.Client]
) -> None:
    alice = client("alice")
    task = stored_task("alice")
    headers = {"Idempotency-Key": "retry-safe-123"}
    # When the same request is sent twice with one key
    first = execute(alice, task, {"topic": "a"}, headers=headers)
    second = execute(alice, task, {"topic": "a"}, headers=headers)
    # Then both answers name the same execution, and only one exists
    assert first.status_code == 202
    assert second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    finished(alice, first.json()["id"])
    assert alice.get(f"/api/v1/tasks/{task.id}/executions").json()["total"] == 1
    # And the same key with other variables is refused, while another key starts another
    changed = execute(alice, task, {"topic": "b"}, headers=headers)
    assert changed.status_code == 422
    other = execute(alice, task, {"topic": "a"}, headers={"Idempotency-Key": "another"})
    assert other.status_code == 202
    assert other.json()["id"] != first.json()["id"]
    finished(alice, other.json()["id"])


def test_an_inactive_or_deleted_task_cannot_be_executed(
    local_cloud: Any, client: Callable[[str], httpx.Client]
) -> None:
    alice = client("alice")
    inactive = stored_task("alice", is_active=False)
    answer = execute(alice, inactive)
    assert answer.status_code == 409
    assert "not active" in answer.json()["error"]["message"]
    deleted = stored_task("alice", is_deleted=True)
    answer = execute(alice, deleted)
    assert answer.status_code == 409
    assert "deleted" in answer.json()["error"]["message"]
    assert alice.get(f"/api/v1/tasks/{inactive.id}/executions").json()["total"] == 0


def test_variables_are_checked(local_cloud: Any, client: Callable[[str], httpx.Client]) -> None:
    alice = client("alice")
    task = stored_task("alice")
    too_many = {f"v{i}": i for i in range(65)}
    assert execute(alice, task, too_many).status_code == 422
    assert execute(alice, task, {"not-a-name": "x"}).status_code == 422
    assert execute(alice, task, {"nested": {"a": 1}}).status_code == 422
    assert execute(alice, task, {"long": "x" * 10_001}).status_code == 422
    assert alice.get(f"/api/v1/tasks/{task.id}/executions").json()["total"] == 0


def test_numbers_preview_and_run_exactly_as_written_and_large_variables_spill(
    local_cloud: Any, client: Callable[[str], httpx.Client]
) -> None:
    # Given a task using a number, a huge integer and 20 variables of 10,000 bytes each (200 KB)
    alice = client("alice")
    big = {f"v{i}": "€" * 3_333 for i in range(20)}
    template = "Hello {{ x }} {{ y }} {{ n }}" + "".join("{{ " + name + "[:1] }}" for name in big)
    task = stored_task("alice", prompt_template=template)
    body = '{"variables": {"x": 2.0, "y": 1e20, "n": 123456789012345678901234567890123456789012345, '
    body += ", ".join(f'"{name}": "{value}"' for name, value in big.items()) + "}}"
    headers = {"content-type": "application/json"}
    # When it is previewed and run through the real workflow
    preview = alice.post(f"/api/v1/tasks/{task.id}/preview", content=body, headers=headers)
    started = alice.post(f"/api/v1/tasks/{task.id}/execute", content=body, headers=headers)
    # Then the run renders exactly what the preview showed ("Hello 2" and 1e+20 differed before)
    assert preview.status_code == 200, preview.text
    assert started.status_code == 202, started.text
    done = finished(alice, started.json()["id"])
    assert done["status"] == "completed", done
    expected = "Hello 2.0 1e20 123456789012345678901234567890123456789012345" + "€" * 20
    assert preview.json()["rendered_prompt"] == expected
    assert done["rendered_prompt"] == expected
    assert done["prompt_variables"]["n"] == 123456789012345678901234567890123456789012345


def test_rerun_starts_a_new_execution_with_the_same_variables(
    local_cloud: Any, client: Callable[[str], httpx.Client]
) -> None:
    alice = client("alice")
    task = stored_task("alice")
    original = finished(alice, execute(alice, task, {"topic": "x", "audience": "y"}).json()["id"])
    rerun = alice.post(f"/api/v1/task-executions/{original['id']}/rerun")
    assert rerun.status_code == 202
    body = rerun.json()
    assert body["id"] != original["id"]
    assert body["trigger_type"] == "rerun"
    assert body["trigger_metadata"] == {"rerun_of": original["id"]}
    assert body["prompt_variables"] == {"topic": "x", "audience": "y"}
    done = finished(alice, body["id"])
    assert done["status"] == "completed"
    session = alice.get(done["_links"]["session"]).json()
    assert session["name"] == f"Task: {task.name} (rerun)"
    listed = alice.get(f"/api/v1/tasks/{task.id}/executions", params={"page_size": 1}).json()
    assert listed["total"] == 2
    assert [e["id"] for e in listed["items"]] == [body["id"]]
    older = alice.get(
        f"/api/v1/tasks/{task.id}/executions", params={"page_size": 1, "cursor": listed["next_cursor"]}
    ).json()
    assert [e["id"] for e in older["items"]] == [original["id"]]
    completed_only = alice.get(f"/api/v1/tasks/{task.id}/executions", params={"status": "failed"}).json()
    assert completed_only["items"] == []
    assert completed_only["total"] == 0


def test_another_user_gets_404_on_every_execution_and_session_route(
    local_cloud: Any, client: Callable[[str], httpx.Client]
) -> None:
    alice, bob = client("alice"), client("bob")
    task = stored_task("alice", is_public=True)
    done = finished(alice, execute(alice, task).json()["id"])
    session_id = done["session_id"]
    attempts = [
        bob.post(f"/api/v1/tasks/{task.id}/execute", json={"variables": {}}),
        bob.post(f"/api/v1/tasks/{task.id}/preview", json={"variables": {}}),
        bob.get(f"/api/v1/tasks/{task.id}/executions"),
        bob.get(f"/api/v1/task-executions/{done['id']}"),
        bob.post(f"/api/v1/task-executions/{done['id']}/cancel"),
        bob.post(f"/api/v1/task-executions/{done['id']}/rerun"),
        bob.get(f"/api/v1/sessions/{session_id}"),
        bob.get(f"/api/v1/sessions/{session_id}/messages"),
    ]
    assert [a.status_code for a in attempts] == [404] * len(attempts)
    assert all(a.json()["error"]["code"] == "not_found" for a in attempts)
    assert alice.get(f"/api/v1/tasks/{task.id}/executions").json()["total"] == 1


def test_preview_shows_the_prompt_and_tools_and_starts_nothing(
    local_cloud: Any, client: Callable[[str], httpx.Client]
) -> None:
    alice = client("alice")
    task = stored_task(
        "alice",
        allowed_tools=["Read", "write_file", "grep"],
        disallowed_tools=["bash"],
        sdk_options={"permission_mode": "plan"},
        is_scheduled=True,
        schedule_cron="0 9 * * 1-5",
    )
    answer = alice.post(f"/api/v1/tasks/{task.id}/preview", json={"variables": {"topic": "costs"}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["rendered_prompt"] == "Summarise the costs notes for {{ audience }}."
    assert body["variables_used"] == ["topic"]
    assert body["variables_missing"] == ["audience"]
    assert body["effective_tools"] == ["grep", "read_file"]  # plan mode: read-only ones only
    assert len(body["next_fire_times"]) == 5
    assert alice.get(f"/api/v1/tasks/{task.id}/executions").json()["total"] == 0


@pytest.fixture
def anthropic_env(settings_env: Callable[..., None]) -> Iterator[MessagesServer]:
    with MessagesServer() as server:
        settings_env(
            MODEL_PROVIDER="anthropic", ANTHROPIC_API_KEY="sk-ant-local", ANTHROPIC_BASE_URL=server.url
        )
        yield server


def test_with_the_real_client_against_the_local_messages_server(
    local_cloud: Any, client: Callable[[str], httpx.Client], anthropic_env: MessagesServer
) -> None:
    # Given the model writes a file, then answers
    anthropic_env.enqueue(
        tool_use_reply(("write_file", {"path": "summary.md", "content": "# Q3\nup 4%"}), text="Writing it."),
        text_reply("Q3 is up 4%. The summary is in summary.md."),
    )
    alice = client("alice")
    task = stored_task("alice")
    done = finished(alice, execute(alice, task, {"topic": "Q3", "audience": "finance"}).json()["id"])
    # Then the execution completed with the model's answer, its usage and a cost
    assert done["status"] == "completed", done
    assert done["provider"] == "anthropic"
    assert done["result_data"] == {
        "final_text": "Q3 is up 4%. The summary is in summary.md.",
        "outcome": "completed",
        "structured_output": None,
        "secrets_scrubbed": 0,
    }
    assert done["total_messages"] == 4
    assert done["total_tool_calls"] == 1
    # And a task that names no model ran on the default, claude-sonnet-5-5, priced from the data file:
    # two calls of 10 input and 5 output tokens at $2 / $10 per million
    assert task.sdk_options.model == "claude-sonnet-5-5"
    assert done["model"] == "claude-sonnet-5-5"
    assert [r.body["model"] for r in anthropic_env.requests] == ["claude-sonnet-5-5"] * 2
    assert done["cost_usd"] == pytest.approx(2 * (10 * 2 + 5 * 10) / 1e6)
    assert done["model_usage"] == {
        "claude-sonnet-5-5": {
            "turns": 2,
            "usage": done["usage"],
            "cost_usd": done["cost_usd"],
        }
    }
    assert done["price_table_version"] == price_table().version
    # And the client sent the rendered prompt
    assert (
        anthropic_env.requests[0].messages[0]["content"][0]["text"] == "Summarise the Q3 notes for finance."
    )


STRUCTURED = {
    "type": "object",
    "properties": {"growth_percent": {"type": "number"}},
    "required": ["growth_percent"],
}


@pytest.mark.parametrize(
    ("answers", "status", "structured"),
    [
        (['{"growth_percent": 4}'], "completed", {"growth_percent": 4}),
        (["Up 4 percent.", '{"growth_percent": 4.0}'], "completed", {"growth_percent": 4.0}),
        (["Up 4 percent.", '{"growth": "4%"}'], "failed", None),
    ],
    ids=["valid", "repaired", "invalid"],
)
def test_structured_output_end_to_end(
    local_cloud: Any,
    client: Callable[[str], httpx.Client],
    anthropic_env: MessagesServer,
    answers: list[str],
    status: str,
    structured: Any,
) -> None:
    # Given a task with an output_schema and a JSON report, and the model's answers
    anthropic_env.enqueue(*(text_reply(answer) for answer in answers))
    alice = client("alice")
    task = stored_task("alice", output_schema=STRUCTURED, generate_report=True, report_format="json")
    # When it runs
    done = finished(alice, execute(alice, task, {"topic": "Q3", "audience": "finance"}).json()["id"])
    # Then it asked for the schema with output_config.format and validated the answer (repairing once)
    assert done["status"] == status, done
    assert anthropic_env.requests[0].body["output_config"]["format"]["schema"] == STRUCTURED
    assert len(anthropic_env.requests) == len(answers)
    if status == "failed":
        assert "does not validate against output_schema" in done["error_message"]
        assert "'growth_percent' is a required property" in done["error_message"]
        return
    assert done["result_data"]["structured_output"] == structured
    # And the report carries it
    report = alice.get(done["_links"]["report"]).json()
    document = httpx.get(report["download_url"]).json()
    assert document["result"]["structured_output"] == structured


def test_a_model_that_fails_permanently_fails_the_execution_with_the_reason(
    local_cloud: Any, client: Callable[[str], httpx.Client], anthropic_env: MessagesServer
) -> None:
    anthropic_env.enqueue(error_reply(400, message="max_tokens is too large for this model"))
    alice = client("alice")
    task = stored_task("alice")
    done = finished(alice, execute(alice, task).json()["id"])
    assert done["status"] == "failed"
    assert "400" in done["error_message"]
    assert "max_tokens is too large for this model" in done["error_message"]
    assert "Traceback" not in done["error_message"]
    assert wait_until(
        lambda: workflow_status(local_cloud, done["id"]) == "FAILED", what="the workflow to fail"
    )


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("markdown", "text/markdown"), ("json", "application/json")]
)
def test_a_reporting_task_gets_its_report_in_s3_with_a_presigned_url(
    local_cloud: Any, client: Callable[[str], httpx.Client], fmt: str, content_type: str
) -> None:
    # Given a task that asks for a report
    alice, bob = client("alice"), client("bob")
    task = stored_task("alice", generate_report=True, report_format=fmt)
    # When it runs
    done = finished(alice, execute(alice, task, {"topic": "risk", "audience": "audit"}).json()["id"])
    # Then the execution links its report
    assert done["status"] == "completed"
    assert done["report_id"]
    assert done["report_note"] is None
    assert done["_links"]["report"] == f"/api/v1/reports/{done['report_id']}"
    report = alice.get(done["_links"]["report"])
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["format"] == fmt
    assert body["execution_id"] == done["id"]
    assert body["content_type"].startswith(content_type)
    assert body["expires_at"]
    # And the presigned URL serves the rendered file
    file = httpx.get(body["download_url"])
    assert file.status_code == 200
    assert file.headers["content-type"].startswith(content_type)
    assert "Summarise the risk notes for audit." in file.text
    assert len(file.content) == body["size_bytes"]
    # And the task's reports list it, for its owner only
    listed = alice.get(f"/api/v1/tasks/{task.id}/reports").json()
    assert [r["id"] for r in listed["items"]] == [done["report_id"]]
    assert bob.get(done["_links"]["report"]).status_code == 404
    assert bob.get(f"/api/v1/tasks/{task.id}/reports").status_code == 404
