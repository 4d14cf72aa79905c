"""http_request and the netguard: private, loopback, link-local and metadata addresses are refused
before any connection, after DNS resolution and on every redirect."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agent_tasks.agent.tools import (
    LOCAL_TOOL_IMPLEMENTATIONS,
    ToolContext,
    ToolError,
    ToolOutput,
    run_local_tool,
)
from agent_tasks.agent.tools.http import fetch
from agent_tasks.errors import DomainError
from agent_tasks.netguard import CheckedUrl, UnsafeUrlError, address_problem, ensure_public_url


def http_request(workdir: Path, *, allow_private: bool = False, **tool_input: Any) -> ToolOutput:
    ctx = ToolContext(workdir=workdir, allow_private_network=allow_private)
    return run_local_tool(LOCAL_TOOL_IMPLEMENTATIONS["http_request"], tool_input, ctx)


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test: refusals must happen before connecting."""

    def forbidden(*args: object, **kwargs: object) -> socket.socket:
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket, "create_connection", forbidden)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://localhost/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fd00:ec2::254]/",
        "http://0.0.0.0/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
    ],
)
def test_private_loopback_and_metadata_targets_are_refused(
    workdir: Path, no_connections: None, url: str
) -> None:
    result = http_request(workdir, url=url)
    assert result.is_error
    assert result.text.startswith("refused:")


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/", "gopher://x/", "http://user:pw@example.com/"]
)
def test_only_plain_http_and_https_urls(workdir: Path, no_connections: None, url: str) -> None:
    assert http_request(workdir, url=url).is_error


def test_metadata_is_refused_even_when_private_networks_are_allowed(no_connections: None) -> None:
    with pytest.raises(UnsafeUrlError, match="metadata"):
        ensure_public_url("http://169.254.169.254/", allow_private=True)
    with pytest.raises(UnsafeUrlError, match="metadata"):
        ensure_public_url("http://[fd00:ec2::254]/", allow_private=True)


def test_a_name_with_any_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a name resolving to one public and one private address
    def fake_getaddrinfo(host: str, port: int, **_: object) -> list[tuple[Any, ...]]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)

    # Then the URL is refused, naming the private address
    with pytest.raises(UnsafeUrlError, match=r"10\.1\.2\.3"):
        ensure_public_url("https://rebind.example/")


def test_public_literal_addresses_pass_without_dns() -> None:
    checked = ensure_public_url("https://93.184.216.34/path?q=1")
    assert checked.addresses == (ipaddress.ip_address("93.184.216.34"),)
    assert checked.port == 443
    assert checked.target == "/path?q=1"


def test_the_guard_error_is_a_domain_error_with_a_reason() -> None:
    with pytest.raises(DomainError) as caught:
        ensure_public_url("http://10.0.0.1/")
    assert "private" in str(caught.value)
    assert address_problem(ipaddress.ip_address("8.8.8.8"), allow_private=False) is None


# -- redirects, against a loopback server ---------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        status, headers, body = self.routes.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for name, value in {
            **headers,
            "content-length": str(len(body)),
            "x-host-seen": self.headers["host"],
        }.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def web() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    _Handler.routes = {
        "/ok": (200, {"content-type": "text/plain"}, b"hello from loopback"),
        "/to-private": (302, {"location": "http://10.0.0.1/admin"}, b""),
        "/to-metadata": (301, {"location": "http://169.254.169.254/latest/"}, b""),
        "/to-ok": (307, {"location": "/ok"}, b""),
        "/loop": (302, {"location": "/loop"}, b""),
        "/big": (200, {}, b"x" * 5000),
    }
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    server.server_close()


def first_hop_only(base: str):  # type: ignore[no-untyped-def]
    """Loopback is allowed for the test server itself; every other target gets the strict check."""

    def check(url: str) -> CheckedUrl:
        try:
            return ensure_public_url(url, allow_private=url.startswith(base))
        except UnsafeUrlError as err:
            raise ToolError(f"refused: {err.message}") from err

    return check


def test_a_redirect_to_a_private_address_is_refused(web: str) -> None:
    with pytest.raises(ToolError, match=r"refused: refusing 10\.0\.0\.1: a private address"):
        fetch(f"{web}/to-private", check=first_hop_only(web))
    with pytest.raises(ToolError, match="metadata"):
        fetch(f"{web}/to-metadata", check=first_hop_only(web))


def test_redirects_are_followed_and_capped(web: str) -> None:
    assert fetch(f"{web}/to-ok", check=first_hop_only(web)).body == b"hello from loopback"
    with pytest.raises(ToolError, match="more than 5 redirects"):
        fetch(f"{web}/loop", check=first_hop_only(web))
    big = fetch(f"{web}/big", check=first_hop_only(web), max_bytes=1000)
    assert big.truncated
    assert len(big.body) == 1000


def test_the_connection_goes_to_the_checked_address_not_a_new_lookup(web: str) -> None:
    # Given a check that vouches for a name that DNS cannot resolve, pinned to the server's address
    port = int(web.rsplit(":", 1)[1])

    def pinned(url: str) -> CheckedUrl:
        return CheckedUrl(url, "http", "pinned.invalid", port, (ipaddress.ip_address("127.0.0.1"),))

    # When fetching by that name, it reaches the server, which saw the name as Host
    result = fetch(f"http://pinned.invalid:{port}/ok", check=pinned)
    assert result.body == b"hello from loopback"
    assert result.headers["x-host-seen"] == f"pinned.invalid:{port}"


def test_loopback_is_reachable_only_with_allow_private(web: str, workdir: Path) -> None:
    assert http_request(workdir, url=f"{web}/ok").is_error
    allowed = http_request(workdir, url=f"{web}/ok", allow_private=True)
    assert not allowed.is_error
    assert allowed.text.startswith("HTTP 200 OK")
    assert allowed.text.endswith("hello from loopback")


class _Trickle(BaseHTTPRequestHandler):
    """Answers with a body sent one byte at a time, each well inside a socket timeout."""

    release = threading.Event()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "40")
        self.end_headers()
        for _ in range(40):
            self.wfile.write(b"x")
            self.wfile.flush()
            if self.release.wait(0.25):  # the test ends the trickle early once it has its answer
                return

    def log_message(self, *args: object) -> None:
        return


def test_a_trickling_body_is_cut_at_the_total_timeout(workdir: Path) -> None:
    # Given a loopback server that sends its 40-byte body a byte per 0.25 s (10 s in all)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # When the tool asks for it with a 1 s timeout
        result = http_request(
            workdir, allow_private=True, url=f"http://127.0.0.1:{server.server_port}/", timeout_seconds=1
        )
    finally:
        _Trickle.release.set()
        server.shutdown()
        server.server_close()
    # Then the whole call is bounded by that timeout, not each byte
    assert result.is_error
    assert "timed out after 1 s" in result.text


def test_a_header_http_cannot_carry_is_a_tool_error(workdir: Path, no_connections: None) -> None:
    result = http_request(
        workdir, allow_private=True, url="http://127.0.0.1:9/", headers={"X-A": "b\r\nX-Injected: 1"}
    )
    assert result.is_error
    assert "Invalid header value" in result.text  # the reason reaches the model, not only a log line
