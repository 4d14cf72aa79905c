"""The http_request tool: public http(s) URLs only, checked after DNS and again on every redirect.

The connection goes to the address that was checked (never a second DNS lookup), with TLS
still verified against the host name.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Callable
from typing import Annotated, Literal
from urllib.parse import urljoin, urlsplit

from pydantic import Field

from agent_tasks.agent.tools import secret_refs
from agent_tasks.agent.tools.base import LocalTool, ToolContext, ToolError, ToolInput, cap_text
from agent_tasks.netguard import CheckedUrl, UnsafeUrlError, ensure_public_url

MAX_REDIRECTS = 5
MAX_RESPONSE_BYTES = 1_000_000
MAX_SHOWN_CHARS = 30_000
DEFAULT_TIMEOUT_SECONDS = 30
MAX_TIMEOUT_SECONDS = 120
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
SHOWN_HEADERS = ("content-type", "content-length", "location", "last-modified", "etag")

UrlCheck = Callable[[str], CheckedUrl]


class HttpRequestInput(ToolInput):
    url: Annotated[str, Field(min_length=1, max_length=8192, description="An http or https URL.")]
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    headers: Annotated[dict[str, str], Field(description="Request headers.")] = Field(default_factory=dict)
    body: Annotated[str | None, Field(max_length=1_000_000, description="Request body (text).")] = None
    timeout_seconds: Annotated[int, Field(ge=1, le=MAX_TIMEOUT_SECONDS)] = DEFAULT_TIMEOUT_SECONDS


class HttpResult:
    def __init__(
        self, status: int, reason: str, headers: dict[str, str], body: bytes, truncated: bool
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.truncated = truncated


def _connection(target: CheckedUrl, timeout: float) -> http.client.HTTPConnection:
    conn: http.client.HTTPConnection
    if target.scheme == "https":
        conn = http.client.HTTPSConnection(target.host, target.port, timeout=timeout)
    else:
        conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)

    # Connect only to the checked addresses (in order); Host header and TLS name stay the URL's host.
    def connect_checked(
        _address: tuple[str, int], timeout: float | None = None, source: tuple[str, int] | None = None
    ) -> socket.socket:
        failure: OSError | None = None
        for address in target.addresses:
            try:
                return socket.create_connection((str(address), target.port), timeout, source)
            except OSError as err:
                failure = err
        raise failure or OSError("no address to connect to")

    conn._create_connection = connect_checked  # type: ignore[attr-defined]
    return conn


def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    check: UrlCheck,
    max_bytes: int = MAX_RESPONSE_BYTES,
    secret_headers: frozenset[str] = frozenset(),
) -> HttpResult:
    """One request, following at most MAX_REDIRECTS redirects, each target checked by `check` first.
    Headers in `secret_headers` are dropped when a redirect leaves the URL's origin."""
    give_up_at = time.monotonic() + timeout
    origin = _origin(url)
    for _hop in range(MAX_REDIRECTS + 1):
        target = check(url)
        remaining = give_up_at - time.monotonic()
        if remaining <= 0:
            raise ToolError(f"timed out after {timeout:.0f} s")
        conn = _connection(target, remaining)
        try:
            conn.request(method, target.target, body=body, headers=headers or {})
            response = conn.getresponse()
            location = response.getheader("location")
            if response.status in REDIRECT_STATUSES and location:
                response.close()
                url = urljoin(url, location)
                if secret_headers and _origin(url) != origin:
                    headers = {k: v for k, v in (headers or {}).items() if k.lower() not in secret_headers}
                if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                    method, body = "GET", None
                continue
            data = (
                _read_until(response, conn, max_bytes + 1, give_up_at, timeout) if method != "HEAD" else b""
            )
            return HttpResult(
                status=response.status,
                reason=response.reason,
                headers={k.lower(): v for k, v in response.getheaders()},
                body=data[:max_bytes],
                truncated=len(data) > max_bytes,
            )
        except TimeoutError as err:
            raise ToolError(f"timed out after {timeout:.0f} s") from err
        except (OSError, http.client.HTTPException, ssl.SSLError, ValueError) as err:
            # ValueError: a header or path the model wrote that HTTP cannot carry (CR/LF, non-ASCII)
            raise ToolError(f"request failed: {type(err).__name__}: {err}") from err
        finally:
            conn.close()
    raise ToolError(f"more than {MAX_REDIRECTS} redirects")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _read_until(
    response: http.client.HTTPResponse,
    conn: http.client.HTTPConnection,
    limit: int,
    give_up_at: float,
    timeout: float,
) -> bytes:
    """Read at most `limit` bytes before `give_up_at`: the socket timeout alone bounds each chunk,
    not the whole body, so a server trickling bytes could otherwise hold the call indefinitely."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        left = give_up_at - time.monotonic()
        if left <= 0:
            raise ToolError(f"timed out after {timeout:.0f} s")
        if conn.sock is not None:
            conn.sock.settimeout(left)
        chunk = response.read1(min(65536, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def run_http_request(args: HttpRequestInput, ctx: ToolContext) -> str:
    def check(url: str) -> CheckedUrl:
        try:
            return ensure_public_url(url, allow_private=ctx.allow_private_network)
        except UnsafeUrlError as err:
            raise ToolError(f"refused: {err.message}") from err

    timeout = min(float(args.timeout_seconds), ctx.deadline() - 5.0)
    if timeout < 1:
        raise ToolError("no time left in this invocation for a request")
    request = secret_refs.substitute(args.url, args.headers, args.body, ctx.secrets)
    result = fetch(
        request.url,
        secret_headers=request.secret_headers,
        method=args.method,
        headers=request.headers,
        body=args.body.encode() if args.body is not None else None,
        timeout=timeout,
        check=check,
    )
    shown = "\n".join(f"{name}: {result.headers[name]}" for name in SHOWN_HEADERS if name in result.headers)
    text = result.body.decode("utf-8", errors="replace")
    if result.truncated:
        text += f"\n[body truncated at {MAX_RESPONSE_BYTES} bytes]"
    head = f"HTTP {result.status} {result.reason}\n{shown}".rstrip()
    return cap_text(f"{head}\n\n{text}", MAX_SHOWN_CHARS)


HTTP_REQUEST = LocalTool(
    "http_request",
    "Make an HTTP(S) request to a public address and return status, main headers and body (capped). "
    "Private, loopback and link-local addresses are refused. A secret the task was given can be used "
    "as {{ secret.NAME }} in a header value or the URL's query; its value is never shown.",
    HttpRequestInput,
    run_http_request,
)
