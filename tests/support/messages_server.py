"""A local HTTP server that speaks enough of the Messages and Models APIs for the real `anthropic`
client: scripted answers (text, thinking, tool_use, usage, stop_reason), error answers
(429 / 529 / 5xx with short retry-after-ms so the SDK's backoff is quick), slow answers, and
a record of every request so tests can assert what the client sent.

Like the real API it refuses (before any scripted reply is used) what the 5.x models refuse:
thinking blocks of a tool-using turn not sent back unchanged (400), a non-default temperature
or a forced tool_choice on models that reject them (400), output_config.format or an effort
the model lacks (400), and a retired model (404). `GET /v1/models[/{id}]` answers from
`models` (by default the catalogue snapshot shipped with the package) in ModelInfo's shapes.

Use the `messages_server` fixture (import it into a conftest, or list this module in
`pytest_plugins` of the root conftest), or `with MessagesServer() as server:` anywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import threading
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.prompt_cache import CacheUsage, PromptCache

EFFORT_LEVELS = ("low", "medium", "high", "xhigh", "max")
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass
class Reply:
    """One scripted answer: an HTTP status, a JSON body, headers, and an optional delay."""

    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def tool_names(self) -> list[str]:
        return [t.get("name") or t.get("mcp_server_name", "") for t in self.body.get("tools", [])]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))


def usage_figures(
    input_tokens: int = 10,
    output_tokens: int = 5,
    cache_read: int = 0,
    cache_write: int = 0,
    cache_write_1h: int = 0,
) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_input_tokens": cache_read,
        "cache_creation_input_tokens": cache_write + cache_write_1h,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache_write,
            "ephemeral_1h_input_tokens": cache_write_1h,
        },
    }


def thinking_block(text: str) -> dict[str, Any]:
    """A thinking block with a signature over its text (the server checks both come back unchanged)."""
    return {"type": "thinking", "thinking": text, "signature": _signature(text)}


def _signature(text: str) -> str:
    return hashlib.sha256(b"local-messages-server:" + text.encode()).hexdigest()


_ids = itertools.count(1)


def message_body(
    content: list[dict[str, Any]],
    *,
    stop_reason: str = "end_turn",
    usage: dict[str, Any] | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """A Message; `model` None answers with the model the request named."""
    return {
        "id": f"msg_local_{next(_ids):06d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage or usage_figures(),
    }


def text_reply(text: str, *, usage: dict[str, Any] | None = None, stop_reason: str = "end_turn") -> Reply:
    return Reply(body=message_body([{"type": "text", "text": text}], stop_reason=stop_reason, usage=usage))


def tool_use_reply(
    *calls: tuple[str, Any],
    text: str | None = None,
    usage: dict[str, Any] | None = None,
    thinking: str | None = None,
) -> Reply:
    """The model asks for `calls` ((name, input) pairs); input may be anything, even a bad value.
    With `thinking`, the turn starts with a signed thinking block that must come back unchanged."""
    content: list[dict[str, Any]] = [thinking_block(thinking)] if thinking else []
    if text:
        content.append({"type": "text", "text": text})
    for name, tool_input in calls:
        content.append(
            {"type": "tool_use", "id": f"toolu_local_{next(_ids):06d}", "name": name, "input": tool_input}
        )
    return Reply(body=message_body(content, stop_reason="tool_use", usage=usage))


def error_reply(
    status: int,
    *,
    message: str | None = None,
    retry_after: str | None = None,
    retry_after_ms: str | None = "1",
) -> Reply:
    """An API error; retry-after-ms defaults to 1 so the SDK's retries cost no real time."""
    headers: dict[str, str] = {}
    if retry_after_ms is not None:
        headers["retry-after-ms"] = retry_after_ms
    if retry_after is not None:
        headers["retry-after"] = retry_after
    kind = ERROR_TYPES.get(status, "api_error")
    body = {"type": "error", "error": {"type": kind, "message": message or f"scripted {status}"}}
    return Reply(status=status, body=body, headers=headers)


class MessagesServer:
    """Serves queued replies in order; when the queue is empty, `default` (or a non-retryable 500)."""

    def __init__(
        self,
        *,
        default: Reply | None = None,
        responder: Callable[[RecordedRequest], Reply] | None = None,
        prompt_cache: PromptCache | None = None,
        models: list[dict[str, Any]] | None = None,
    ) -> None:
        self.requests: list[RecordedRequest] = []
        # When set, answers' usage is the cache accounting of each request (input and cache tokens).
        self.prompt_cache = prompt_cache
        self.refused: list[tuple[RecordedRequest, str]] = []
        self.model_requests: list[str] = []  # paths of GET /v1/models[/{id}]
        self.default = default
        self.responder = responder
        # Catalogue entries (agent/data/models.json's shape), served by GET /v1/models.
        self.models: list[dict[str, Any]] = models if models is not None else snapshot_models()
        # tool_use id -> the model and the thinking blocks of the turn that asked for it, as sent.
        self._thinking_by_tool_use: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()  # ends slow replies early when the server stops
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- scripting --------------------------------------------------------------------------------------

    def enqueue(self, *replies: Reply) -> MessagesServer:
        with self._lock:
            self._queue.extend(replies)
        return self

    def reply_text(self, text: str, **kwargs: Any) -> MessagesServer:
        return self.enqueue(text_reply(text, **kwargs))

    def reply_tool_use(self, *calls: tuple[str, Any], **kwargs: Any) -> MessagesServer:
        return self.enqueue(tool_use_reply(*calls, **kwargs))

    def reply_error(self, status: int, **kwargs: Any) -> MessagesServer:
        return self.enqueue(error_reply(status, **kwargs))

    def reply_slow(self, seconds: float, reply: Reply | None = None) -> MessagesServer:
        slow = reply or text_reply("slow answer")
        slow.delay_seconds = seconds
        return self.enqueue(slow)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    # -- lifecycle --------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> MessagesServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="messages-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> MessagesServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- serving ----------------------------------------------------------------------------------------

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            refusal = self._refusal(request)
            if refusal is not None:
                self.refused.append((request, refusal.body["error"]["message"]))
                return refusal
            reply = self._queue.popleft() if self._queue else None
        if reply is None and self.responder is not None:
            reply = self.responder(request)
        if reply is None:
            reply = self.default
        if reply is None:
            failed = error_reply(500, message="messages server: no scripted reply left", retry_after_ms=None)
            failed.headers["x-should-retry"] = "false"
            return failed
        return self._answered(reply, request)

    def _answered(self, reply: Reply, request: RecordedRequest) -> Reply:
        """The reply with the requested model filled in; its thinking blocks remembered."""
        if reply.status != 200 or "content" not in reply.body:
            return reply
        body = dict(reply.body)
        if body.get("model") is None:
            body["model"] = request.body.get("model")
        content = body["content"]
        thinking = [b for b in content if b.get("type") in ("thinking", "redacted_thinking")]
        with self._lock:
            for block in content:
                if block.get("type") == "tool_use" and thinking:
                    self._thinking_by_tool_use[block["id"]] = (str(body["model"]), thinking)
        return Reply(status=reply.status, body=body, headers=reply.headers, delay_seconds=reply.delay_seconds)

    def model(self, model_id: str) -> dict[str, Any] | None:
        return next((m for m in self.models if m["id"] == model_id), None)

    def _refusal(self, request: RecordedRequest) -> Reply | None:
        """What the real API would refuse about this request, as its error answer."""
        body = request.body
        entry = self.model(str(body.get("model")))
        if entry is not None and entry["lifecycle"] == "retired":
            return _refused(404, f"model: {entry['id']} has been retired", kind="not_found_error")
        caps = (entry or {}).get("capabilities", {})
        if entry is not None:
            temperature = body.get("temperature")
            if temperature is not None and temperature != 1.0 and not caps.get("temperature", True):
                return _refused(400, f"temperature: {entry['id']} does not accept a non-default temperature")
            choice = (body.get("tool_choice") or {}).get("type")
            if choice in ("any", "tool") and not caps.get("forced_tool_choice", True):
                return _refused(400, f"tool_choice: {entry['id']} does not support forced tool use")
            output_config = body.get("output_config") or {}
            if "format" in output_config and not caps.get("structured_outputs"):
                return _refused(
                    400, f"output_config.format: {entry['id']} does not support structured outputs"
                )
            effort = output_config.get("effort")
            if effort is not None and effort not in caps.get("effort", []):
                return _refused(
                    400, f"output_config.effort: {entry['id']} does not support effort {effort!r}"
                )
        return self._thinking_refusal(body)

    def _thinking_refusal(self, body: dict[str, Any]) -> Reply | None:
        for message in body.get("messages", []):
            content = message.get("content")
            if message.get("role") != "assistant" or not isinstance(content, list):
                continue
            sent = [b for b in content if b.get("type") in ("thinking", "redacted_thinking")]
            for block in sent:
                if block.get("type") == "thinking" and block.get("signature") != _signature(
                    str(block.get("thinking"))
                ):
                    return _refused(400, "messages: thinking block has an invalid signature")
            for block in content:
                issued = self._thinking_by_tool_use.get(str(block.get("id")))
                if block.get("type") != "tool_use" or issued is None:
                    continue
                model, blocks = issued
                if model != body.get("model") and sent:
                    return _refused(400, "messages: thinking blocks are bound to the model that wrote them")
                if model == body.get("model") and blocks != sent:
                    return _refused(
                        400,
                        "messages: the thinking blocks of an assistant turn with tool_use must be passed "
                        "back unchanged",
                    )
        return None

    def models_page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        wanted = {v for key, values in query.items() if key.startswith("lifecycle") for v in values}
        wanted = wanted or {"active", "deprecated"}
        listed = [model_info(m) for m in self.models if m["lifecycle"] in wanted]
        after = next(iter(query.get("after_id") or []), None)
        if after is not None:
            ids = [m["id"] for m in listed]
            listed = listed[ids.index(after) + 1 :] if after in ids else []
        limit = int((query.get("limit") or ["20"])[0])
        page = listed[:limit]
        return {
            "data": page,
            "has_more": len(listed) > limit,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as separate writes: without this, Nagle plus delayed ACKs
            # add ~40 ms to every keep-alive answer.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                server.model_requests.append(self.path)
                if url.path.rstrip("/").endswith("/v1/models"):
                    self._send(Reply(body=server.models_page(urllib.parse.parse_qs(url.query))))
                    return
                if "/v1/models/" in url.path:
                    entry = server.model(url.path.rsplit("/", 1)[-1])
                    if entry is not None:
                        self._send(Reply(body=model_info(entry)))
                        return
                self._send(Reply(status=404, body={"type": "error", "error": {"type": "not_found_error"}}))

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                recorded = RecordedRequest(
                    method="POST",
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw or b"{}"),
                )
                if not self.path.split("?", 1)[0].endswith("/v1/messages"):
                    self._send(
                        Reply(status=404, body={"type": "error", "error": {"type": "not_found_error"}})
                    )
                    return
                reply = server._next_reply(recorded)
                if server.prompt_cache is not None and reply.status == 200:
                    reply = _with_cache_usage(reply, server.prompt_cache.account(recorded.body))
                if reply.delay_seconds and server._release.wait(reply.delay_seconds):
                    return  # the server is stopping
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                payload = json.dumps(reply.body).encode()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.send_header("request-id", f"req_local_{next(_ids):06d}")
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)

        return Handler


def _with_cache_usage(reply: Reply, usage: CacheUsage) -> Reply:
    output_tokens = int(reply.body.get("usage", {}).get("output_tokens", 0))
    body = {**reply.body, "usage": usage.as_usage(output_tokens)}
    return Reply(status=reply.status, body=body, headers=reply.headers, delay_seconds=reply.delay_seconds)


def _refused(status: int, message: str, *, kind: str = "invalid_request_error") -> Reply:
    return Reply(
        status=status,
        body={"type": "error", "error": {"type": kind, "message": message}},
        headers={"x-should-retry": "false"},
    )


def snapshot_models() -> list[dict[str, Any]]:
    """The catalogue snapshot shipped with the package (agent/data/models.json)."""
    from importlib import resources

    text = resources.files("agent_tasks.agent").joinpath("data/models.json").read_text(encoding="utf-8")
    models: list[dict[str, Any]] = json.loads(text)["models"]
    return models


def _stamp(day: str | None) -> str | None:
    return f"{day}T00:00:00Z" if day else None


def model_info(entry: dict[str, Any]) -> dict[str, Any]:
    """A catalogue entry in the Models API's ModelInfo shape."""
    caps = entry.get("capabilities", {})
    effort = caps.get("effort", [])
    thinking = caps.get("thinking", [])

    def support(flag: bool) -> dict[str, bool]:
        return {"supported": bool(flag)}

    return {
        "type": "model",
        "id": entry["id"],
        "display_name": entry["display_name"],
        "line": entry.get("line"),
        "lifecycle": entry["lifecycle"],
        "created_at": _stamp(entry.get("created_at")) or "1970-01-01T00:00:00Z",
        "deprecated_at": _stamp(entry.get("deprecated_at")),
        "retires_at": _stamp(entry.get("retires_at")),
        "max_input_tokens": entry.get("max_input_tokens"),
        "max_tokens": entry.get("max_tokens"),
        "capabilities": {
            "batch": support(True),
            "citations": support(True),
            "code_execution": support(False),
            "context_management": {"supported": False},
            "effort": {"supported": bool(effort), **{lvl: support(lvl in effort) for lvl in EFFORT_LEVELS}},
            "image_input": support(True),
            "pdf_input": support(True),
            "server_tools": {
                "supported": True,
                "code_execution": support(False),
                "web_search": support(True),
            },
            "structured_outputs": support(caps.get("structured_outputs", False)),
            "thinking": {
                "supported": bool(thinking),
                "types": {
                    t: support(t in thinking) for t in ("adaptive", "between_tools", "disabled", "enabled")
                },
            },
        },
    }


@pytest.fixture
def messages_server() -> Iterator[MessagesServer]:
    """A started MessagesServer on 127.0.0.1 (ephemeral port), stopped after the test."""
    with MessagesServer() as server:
        yield server
