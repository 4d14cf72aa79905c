"""Webhook delivery: an HTTPS POST of an event's body, signed (see `signing`), retrying transient
failures when asked to.

`deliver_webhook` never raises for a failed delivery: it returns a `DeliveryOutcome` (with
`retryable` saying whether a later try may succeed). The notifier sends one attempt per
invocation and lets Lambda's asynchronous retries make the next ones.

Destinations are checked twice: when the config is validated (scheme, and hosts that are
plainly loopback/private, without DNS) and before every attempt (`agent_tasks.netguard`
resolves the name and the request goes to the checked address, so DNS rebinding has no gap).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    import httpx2


class Deliverable(Protocol):
    """What a webhook POSTs: an event (or a Slack message made from one)."""

    @property
    def event_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    def body(self) -> bytes: ...


# --- delivery --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExponentialBackoff:
    """Delay before retry n (1-based): base·factor^(n-1), capped, "equal jitter"."""

    base_seconds: float = 0.5
    factor: float = 2.0
    max_seconds: float = 8.0
    random_fraction: Callable[[], float] = field(default=random.random, repr=False)

    def __call__(self, retry: int) -> float:
        ceiling = min(self.max_seconds, self.base_seconds * self.factor ** max(retry - 1, 0))
        return ceiling / 2 + ceiling / 2 * self.random_fraction()


@dataclass
class _Attempt:
    status_code: int | None = None
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None


def _retry_after_seconds(value: str | None) -> float | None:
    if value is not None and re.fullmatch(r"\d{1,6}", value.strip()):
        return float(value.strip())
    return None


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
    retryable = code == 429 or code >= 500
    retry_after = _retry_after_seconds(response.headers.get("Retry-After")) if retryable else None
    return _Attempt(status_code=code, error=f"HTTP {code}", retryable=retryable, retry_after=retry_after)


def deliver_webhook(
    url: str,
    event: Deliverable,
    secret: str,
    *,
    allow_private: bool = False,
    attempts: int = 3,
    first_attempt: int = 1,
    backoff: Callable[[int], float] | None = None,
    timeout_seconds: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    transport: httpx2.BaseTransport | None = None,
) -> DeliveryOutcome:
    """POST `event` to `url`, signed with `secret`, retrying transient failures; never raises for a failure.

    Retried: network errors, timeouts, 429 and 5xx (a numeric Retry-After is honoured up to the
    backoff's cap). Not retried: other 4xx, 3xx (redirects are not followed) and refused
    destinations. `allow_private` admits loopback and private hosts (pass
    `settings.allow_private_network`; only local tests set it). `first_attempt` numbers the
    attempts (the Delivery-Attempt header) when earlier ones were made by earlier invocations.
    """
    import httpx2

    delay_for = backoff if backoff is not None else ExponentialBackoff()
    cap = delay_for.max_seconds if isinstance(delay_for, ExponentialBackoff) else 30.0
    body = event.body()
    host = httpx2.URL(url).host
    sent = 0
    last = _Attempt()
    timeout = httpx2.Timeout(timeout_seconds, connect=min(timeout_seconds, 3.0))
    with httpx2.Client(
        transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
    ) as client:
        for attempt in range(1, max(attempts, 1) + 1):
            if attempt > 1:
                sleep(max(delay_for(attempt - 1), min(last.retry_after or 0.0, cap)))
            try:
                checked = netguard.ensure_public_url(url, allow_private=allow_private)
            except netguard.UnsafeUrlError as err:
                # A name that does not resolve may resolve later; a refused address will not change.
                last = _Attempt(
                    error=f"destination refused: {err.message}", retryable=isinstance(err.__cause__, OSError)
                )
                if last.retryable:
                    continue
                break
            timestamp = int(clock())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                SIGNATURE_HEADER: signature_header(secret, timestamp, body),
                EVENT_ID_HEADER: event.event_id,
                EVENT_TYPE_HEADER: event.type,
                ATTEMPT_HEADER: str(first_attempt + attempt - 1),
            }
            sent += 1
            last = _send_once(client, checked, body, headers)
            if last.error is None or not last.retryable:
                break
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
            "attempts": sent,
            "status_code": last.status_code,
            "error": last.error,
        },
    )
    return outcome
