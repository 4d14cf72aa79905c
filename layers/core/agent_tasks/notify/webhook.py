"""Webhook delivery: one HTTPS POST of an event's body, signed (see `signing`).

`deliver_webhook` makes one attempt and never raises for a failed delivery: it returns a
`DeliveryOutcome` (with `retryable` saying whether a later try may succeed). Retrying is not done
here: the notifier makes one attempt per invocation, records it, and fails the invocation when a
retry may help, so Lambda's asynchronous retries make the next attempts (the notifier's
EventInvokeConfig) and the dead-letter queue takes the event after the last. One retry mechanism,
each attempt on the record; an invocation never sleeps.

Destinations are checked twice: when the config is validated (scheme, and hosts that are
plainly loopback/private, without DNS) and before every attempt (`agent_tasks.netguard`
resolves the name and the request goes to the checked address, so DNS rebinding has no gap).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from agent_tasks import netguard
from agent_tasks.models.notifications import DeliveryOutcome
from agent_tasks.notify.signing import (
    ATTEMPT_HEADER,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    USER_AGENT,
    signature_header,
)
from agent_tasks.observability import logger

if TYPE_CHECKING:
    import ssl

    import httpx2


class Deliverable(Protocol):
    """What a webhook POSTs: an event (or a Slack message made from one)."""

    @property
    def event_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    def body(self) -> bytes: ...


# --- delivery --------------------------------------------------------------------------------


# One attempt's bound: connecting within 3 s, the answer within 5 s (the notifier's timeout is 30 s,
# and it tries at most a webhook and a topic per invocation).
TIMEOUT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 3.0


@lru_cache(maxsize=4)
def _tls_context(ca_file: str | None, ca_dir: str | None) -> ssl.SSLContext:
    """The CA bundle the environment names (SSL_CERT_FILE / SSL_CERT_DIR: a receiver behind a private
    CA), else the system's; built once per process and bundle (loading one takes about 25 ms), keyed by
    the variables so a changed one is honoured. The client itself takes no proxy from the environment."""
    import httpx2

    return httpx2.create_ssl_context(trust_env=True)


@dataclass
class _Attempt:
    status_code: int | None = None
    error: str | None = None
    retryable: bool = False


def _send_once(
    client: httpx2.Client,
    checked: netguard.CheckedUrl,
    body: bytes,
    headers: dict[str, str],
) -> _Attempt:
    import httpx2

    # Connect to the address netguard checked, not to whatever the name resolves to next;
    # Host and TLS SNI (hence certificate checks) still use the name.
    url = httpx2.URL(checked.url)
    pinned = url.copy_with(host=str(checked.addresses[0]))
    host_header = checked.host if url.port is None else f"{checked.host}:{url.port}"
    extensions = {"sni_hostname": checked.host} if checked.scheme == "https" else {}
    try:
        with client.stream(
            "POST", pinned, content=body, headers={**headers, "Host": host_header}, extensions=extensions
        ) as response:
            code = response.status_code  # the body is never read: nothing in it matters to us
    except httpx2.TimeoutException as err:
        return _Attempt(error=f"timeout: {type(err).__name__}", retryable=True)
    except httpx2.TransportError as err:
        return _Attempt(error=f"network error: {type(err).__name__}: {err}", retryable=True)
    if 200 <= code < 300:
        return _Attempt(status_code=code)
    return _Attempt(status_code=code, error=f"HTTP {code}", retryable=code == 429 or code >= 500)


def deliver_webhook(
    url: str,
    event: Deliverable,
    secret: str,
    *,
    attempt: int,
    allow_private: bool = False,
    clock: Callable[[], float] = time.time,
    transport: httpx2.BaseTransport | None = None,
) -> DeliveryOutcome:
    """POST `event` to `url` once, signed with `secret`; never raises for a failure.

    `attempt` is this attempt's number for the event and destination (the Delivery-Attempt header;
    earlier ones were made by earlier invocations). A later attempt may succeed (`retryable`) after
    network errors, timeouts, 429 and 5xx, and a name that does not resolve; not after other 4xx,
    3xx (redirects are not followed) or a refused address. `allow_private` admits loopback and
    private hosts (pass `settings.allow_private_network`; only local tests set it).
    """
    import httpx2

    body = event.body()
    host = httpx2.URL(url).host
    sent = 0
    timeout = httpx2.Timeout(TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
    try:
        checked = netguard.ensure_public_url(url, allow_private=allow_private)
    except netguard.UnsafeUrlError as err:
        # A name that does not resolve may resolve later; a refused address will not change.
        last = _Attempt(
            error=f"destination refused: {err.message}", retryable=isinstance(err.__cause__, OSError)
        )
    else:
        timestamp = int(clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: signature_header(secret, timestamp, body),
            EVENT_ID_HEADER: event.event_id,
            EVENT_TYPE_HEADER: event.type,
            ATTEMPT_HEADER: str(attempt),
        }
        verify = _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        with httpx2.Client(
            transport=transport, timeout=timeout, verify=verify, follow_redirects=False, trust_env=False
        ) as client:
            sent = 1
            last = _send_once(client, checked, body, headers)
    delivered = last.error is None and last.status_code is not None
    outcome = DeliveryOutcome(
        event_id=event.event_id,
        host=host,
        status="delivered" if delivered else "failed",
        attempts=sent,
        last_status_code=last.status_code,
        last_error=last.error,
        retryable=not delivered and last.retryable,
        finished_at=datetime.fromtimestamp(clock(), UTC),
    )
    log = logger.info if delivered else logger.warning
    log(
        "webhook delivery " + outcome.status,
        extra={
            "event_id": event.event_id,
            "host": host,
            "attempt": attempt,
            "status_code": last.status_code,
            "error": last.error,
        },
    )
    return outcome
