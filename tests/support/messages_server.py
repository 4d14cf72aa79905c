"""A local HTTP server that speaks enough of the Messages API (POST /v1/messages) for the real
`anthropic` client: scripted answers (text, tool_use, usage, stop_reason), error answers
(429 / 529 / 5xx with short retry-after-ms so the SDK's backoff is quick), slow answers, and
a record of every request so tests can assert what the client sent.

Use the `messages_server` fixture (import it into a conftest, or list this module in
`pytest_plugins` of the root conftest), or `with MessagesServer() as server:` anywhere.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.prompt_cache import CacheUsage, PromptCache

DEFAULT_MODEL = "claude-sonnet-4-5-20250929"
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
    input_tokens: int = 10, output_tokens: int = 5, cache_read: int = 0, cache_write: int = 0
) -> dict[str, int]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_input_tokens": cache_read,
        "cache_creation_input_tokens": cache_write,
    }


_ids = itertools.count(1)


def message_body(
    content: list[dict[str, Any]],
    *,
    stop_reason: str = "end_turn",
    usage: dict[str, int] | None = None,
    model: str = DEFAULT_MODEL,
) -> dict[str, Any]:
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


def text_reply(text: str, *, usage: dict[str, int] | None = None, stop_reason: str = "end_turn") -> Reply:
    return Reply(body=message_body([{"type": "text", "text": text}], stop_reason=stop_reason, usage=usage))


def tool_use_reply(
    *calls: tuple[str, Any], text: str | None = None, usage: dict[str, int] | None = None
) -> Reply:
    """The model asks for `calls` ((name, input) pairs); input may be anything, even a bad value."""
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
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
    ) -> None:
        self.requests: list[RecordedRequest] = []
        # When set, answers' usage is the cache accounting of each request (input and cache tokens).
        self.prompt_cache = prompt_cache
        self.default = default
        self.responder = responder
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
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            return self.responder(request)
        if self.default is not None:
            return self.default
        failed = error_reply(500, message="messages server: no scripted reply left", retry_after_ms=None)
        failed.headers["x-should-retry"] = "false"
        return failed

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as separate writes: without this, Nagle plus delayed ACKs
            # add ~40 ms to every keep-alive answer.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return

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


@pytest.fixture
def messages_server() -> Iterator[MessagesServer]:
    """A started MessagesServer on 127.0.0.1 (ephemeral port), stopped after the test."""
    with MessagesServer() as server:
        yield server
