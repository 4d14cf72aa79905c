"""The client against a real local HTTP server that answers what each test scripts: retries, errors,
Idempotency-Key, cursors. Backoff pauses are recorded, not slept."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agent_tasks_client import (
    AgentTasks,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    ValidationFailed,
)
from tests.support.fixtures import free_port


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class ScriptedApi:
    """Answers queued (status, body, headers) in order; records every request."""

    replies: deque[tuple[int, Any, dict[str, str]]] = field(default_factory=deque)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def reply(self, status: int, body: Any = None, **headers: str) -> ScriptedApi:
        self.replies.append((status, body, headers))
        return self


@pytest.fixture
def api() -> Iterator[ScriptedApi]:
    scripted = ScriptedApi()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            scripted.seen.append(
                Seen(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw) if raw else None,
                )
            )
            status, body, headers = scripted.replies.popleft()
            payload = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    scripted.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield scripted
    finally:
        server.shutdown()
        server.server_close()


def _error(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


TASK = {"id": "t-1", "name": "A", "version": 1}


def _client(api: ScriptedApi, pauses: list[float]) -> AgentTasks:
    return AgentTasks(api.url, "tok", sleep=pauses.append)


def test_a_read_is_retried_on_5xx_with_growing_pauses_and_then_answers(api: ScriptedApi) -> None:
    # Given an API that fails twice with 503 and then answers
    api.reply(503, _error("unavailable", "try later")).reply(502, None).reply(200, TASK)
    pauses: list[float] = []
    # When a task is read
    with _client(api, pauses) as client:
        task = client.get_task("t-1")
    # Then it is answered after two retries, with a bearer token, under /api/v1
    assert task == TASK
    assert [s.path for s in api.seen] == ["/api/v1/tasks/t-1"] * 3
    assert api.seen[0].headers["authorization"] == "Bearer tok"
    assert len(pauses) == 2
    assert all(p > 0 for p in pauses)


def test_429_is_retried_after_the_retry_after_it_names_even_for_a_create(api: ScriptedApi) -> None:
    api.reply(429, _error("throttled", "slow down"), Retry_After="2").reply(201, TASK)
    pauses: list[float] = []
    with _client(api, pauses) as client:
        assert client.create_task({"name": "A"}) == TASK
    assert pauses == [2.0]
    assert [s.method for s in api.seen] == ["POST", "POST"]


def test_a_create_is_not_retried_on_500_it_may_have_been_done(api: ScriptedApi) -> None:
    api.reply(500, _error("internal_error", "something broke"))
    pauses: list[float] = []
    with _client(api, pauses) as client, pytest.raises(ServerError) as raised:
        client.create_task({"name": "A"})
    assert (raised.value.status, raised.value.code, raised.value.message) == (
        500,
        "internal_error",
        "something broke",
    )
    assert len(api.seen) == 1
    assert pauses == []


def test_execute_sends_an_idempotency_key_and_retries_with_the_same_one(api: ScriptedApi) -> None:
    api.reply(502, None).reply(202, {"id": "e-1", "status": "pending"})
    with _client(api, []) as client:
        execution = client.execute("t-1", {"service": "api"})
    assert execution["id"] == "e-1"
    keys = [s.headers["idempotency-key"] for s in api.seen]
    assert len(keys) == 2
    assert keys[0] == keys[1]
    assert api.seen[0].body == {"variables": {"service": "api"}}


def test_retries_stop_after_the_last_attempt_with_the_apis_error(api: ScriptedApi) -> None:
    for _ in range(4):
        api.reply(429, _error("throttled", "slow down"))
    pauses: list[float] = []
    with _client(api, pauses) as client, pytest.raises(RateLimited) as raised:
        client.list_tasks()
    assert raised.value.status == 429
    assert len(api.seen) == 4
    assert len(pauses) == 3


def test_an_error_answer_carries_code_message_and_the_fields(api: ScriptedApi) -> None:
    details = [{"loc": ["body", "schedule_cron"], "msg": "minute 61 is out of range", "type": "value_error"}]
    api.reply(422, _error("validation_error", "the request is not valid", details))
    with _client(api, []) as client, pytest.raises(ValidationFailed) as raised:
        client.update_task("t-1", {"schedule_cron": "61 * * * *"}, if_match=3)
    assert raised.value.code == "validation_error"
    assert raised.value.details == details
    assert raised.value.fields == ["body.schedule_cron: minute 61 is out of range"]
    assert api.seen[0].headers["if-match"] == '"3"'


def test_the_gateways_401_and_a_404_become_exceptions_too(api: ScriptedApi) -> None:
    api.reply(404, _error("not_found", "no such task"))
    with _client(api, []) as client, pytest.raises(NotFound) as raised:
        client.get_task("nope")
    assert raised.value.message == "no such task"


def test_an_unreachable_api_is_a_transport_error_after_the_retries() -> None:
    pauses: list[float] = []
    with (
        AgentTasks(f"http://127.0.0.1:{free_port()}", sleep=pauses.append) as client,
        pytest.raises(TransportError) as raised,
    ):
        client.health()
    assert "cannot reach" in str(raised.value)
    assert len(pauses) == 3


def test_iterators_follow_next_cursor_until_the_last_page(api: ScriptedApi) -> None:
    page = {"page": 1, "page_size": 2, "total": 3, "_links": {}}
    api.reply(200, {**page, "items": [{"id": "1"}, {"id": "2"}], "next_cursor": "c2"})
    api.reply(200, {**page, "items": [{"id": "3"}], "next_cursor": None})
    with _client(api, []) as client:
        ids = [t["id"] for t in client.iter_tasks(page_size=2, tags=["ops", "db"])]
    assert ids == ["1", "2", "3"]
    assert api.seen[0].path == "/api/v1/tasks?tags=ops%2Cdb&page_size=2"
    assert api.seen[1].path == "/api/v1/tasks?tags=ops%2Cdb&page_size=2&cursor=c2"


def test_an_executions_deliveries_and_approvals_iterate_every_page(api: ScriptedApi) -> None:
    # Given lists of two pages each
    page = {"page": 1, "page_size": 1, "total": 2, "_links": {}}
    for _ in range(2):
        api.reply(200, {**page, "items": [{"event_id": "e1", "id": "e1"}], "next_cursor": "c2"})
        api.reply(200, {**page, "items": [{"event_id": "e2", "id": "e2"}], "next_cursor": None})
    # When both are iterated
    with _client(api, []) as client:
        deliveries = [d["event_id"] for d in client.iter_deliveries("x1", page_size=1)]
        approvals = [a["id"] for a in client.iter_approvals("x1", page_size=1)]
    # Then each follows next_cursor to the end
    assert deliveries == approvals == ["e1", "e2"]
    assert [seen.path for seen in api.seen] == [
        "/api/v1/task-executions/x1/deliveries?page_size=1",
        "/api/v1/task-executions/x1/deliveries?page_size=1&cursor=c2",
        "/api/v1/task-executions/x1/approvals?page_size=1",
        "/api/v1/task-executions/x1/approvals?page_size=1&cursor=c2",
    ]


def test_messages_after_a_seq_long_poll_with_a_timeout_longer_than_the_wait(api: ScriptedApi) -> None:
    api.reply(200, {"items": [], "page": 1, "page_size": 50, "total": 4, "_links": {}})
    with _client(api, []) as client:
        page = client.list_messages("s-1", after=4, wait=20)
    assert page["total"] == 4
    assert api.seen[0].path == "/api/v1/sessions/s-1/messages?after=4&wait=20"
