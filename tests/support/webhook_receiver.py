"""A webhook receiver on 127.0.0.1 for tests: answers a scripted list of statuses and records requests.

It checks signatures the way a user's receiver would, with `agent_tasks.notify.signing.verify`,
and answers 401 to a request whose signature does not verify.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from agent_tasks.notify.signing import SIGNATURE_HEADER, verify

HOLD_LIMIT_SECONDS = 30.0


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_valid: bool


@dataclass
class WebhookReceiver:
    secret: str
    statuses: list[int]  # answer for request 1, 2, ...; the last one repeats
    now: float | None = None  # the receiver's clock, for verify()
    retry_after: str | None = None
    # When set, each request waits (at most HOLD_LIMIT_SECONDS) for this event before it is answered.
    hold: threading.Event | None = None
    requests: list[ReceivedRequest] = field(default_factory=list)
    answered: int = 0
    port: int = 0
    # When set, the receiver speaks HTTPS with this context (tests/support/tls.py), as `localhost`.
    tls: ssl.SSLContext | None = None

    @property
    def url(self) -> str:
        if self.tls is not None:
            return f"https://localhost:{self.port}/hooks/agent-tasks"
        return f"http://127.0.0.1:{self.port}/hooks/agent-tasks"


@contextmanager
def running_receiver(receiver: WebhookReceiver) -> Iterator[WebhookReceiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            header = self.headers.get(SIGNATURE_HEADER, "")
            valid = verify(receiver.secret, header, body, now=receiver.now)
            receiver.requests.append(
                ReceivedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body, valid)
            )
            if receiver.hold is not None:
                receiver.hold.wait(HOLD_LIMIT_SECONDS)
            index = min(len(receiver.requests), len(receiver.statuses)) - 1
            status = receiver.statuses[index] if valid else 401
            self.send_response(status)
            if receiver.retry_after is not None and status in (429, 503):
                self.send_header("Retry-After", receiver.retry_after)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            receiver.answered += 1

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if receiver.tls is not None:
        server.socket = receiver.tls.wrap_socket(server.socket, server_side=True)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
