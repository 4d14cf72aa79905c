"""A loopback HTTP receiver that checks the bearer token it is sent and echoes what it saw (so tests
can prove the echo is scrubbed before the model sees it). It can also redirect elsewhere."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Receiver:
    expected_token: str
    url: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def receiver(expected_token: str, *, redirect_to: str | None = None) -> Iterator[Receiver]:
    state = Receiver(expected_token)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            seen = {
                "path": parts.path,
                "authorization": self.headers.get("Authorization"),
                "query": parse_qs(parts.query),
            }
            state.seen.append(seen)
            if redirect_to is not None and parts.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", redirect_to)
                self.end_headers()
                return
            ok = self.headers.get("Authorization") == f"Bearer {state.expected_token}"
            body = json.dumps({"authorized": ok, "echo": seen}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
