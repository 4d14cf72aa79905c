"""deliver_webhook against a real receiver on 127.0.0.1: signing, one attempt a call, refusals."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from agent_tasks import netguard
from agent_tasks.models.notifications import DeliveryOutcome, NotificationConfig
from agent_tasks.notify.events import NotificationEvent
from agent_tasks.notify.webhook import deliver_webhook
from tests.support.tls import tls_files
from tests.support.webhook_receiver import WebhookReceiver, running_receiver

SECRET = "whsec-delivery-test"
NOW = 1_750_000_000.0


@pytest.fixture
def event() -> NotificationEvent:
    return NotificationEvent.for_execution(
        execution_id="9d1e2c3b-4a5f-4e6d-8c7b-1a2b3c4d5e6f",
        task_id="0b7c6f0e-3a57-4d55-9a53-2f3a6a1d0c11",
        owner_id="user-1",
        status="failed",
        occurred_at=datetime(2025, 6, 1, 8, 1, 35, tzinfo=UTC),
        error_message="tool budget exceeded",
    )


def receiver_with(*statuses: int, retry_after: str | None = None) -> AbstractContextManager[WebhookReceiver]:
    """A receiver answering `statuses` in turn (the last repeats), checking signatures at time NOW."""
    return running_receiver(WebhookReceiver(SECRET, list(statuses), now=NOW, retry_after=retry_after))


def deliver(url: str, event: NotificationEvent, **kw: Any) -> DeliveryOutcome:
    options: dict[str, Any] = {
        "attempt": 1,
        "allow_private": True,  # the receiver is on loopback
        "clock": lambda: NOW,
    }
    options.update(kw)
    return deliver_webhook(url, event, SECRET, **options)


def test_delivers_a_signed_event(event: NotificationEvent) -> None:
    with receiver_with(200) as receiver:
        # When the event is delivered
        outcome = deliver(receiver.url, event)
        # Then the receiver got it once, signed, with its id and attempt number
        [request] = receiver.requests
        assert request.signature_valid
        assert request.path == "/hooks/agent-tasks"
        assert NotificationEvent.model_validate_json(request.body) == event
        assert request.headers["x-agenttasks-event-id"] == event.event_id
        assert request.headers["x-agenttasks-event-type"] == "ExecutionFailed"
        assert request.headers["x-agenttasks-delivery-attempt"] == "1"
        assert request.headers["content-type"] == "application/json"
        assert outcome.delivered
        assert (outcome.status, outcome.attempts, outcome.last_status_code) == ("delivered", 1, 200)
        assert outcome.host == "127.0.0.1"


def test_a_later_attempt_carries_the_same_event_id_and_its_number(event: NotificationEvent) -> None:
    # Given a receiver that fails once, then accepts
    with receiver_with(500, 200) as receiver:
        # When the event is delivered as attempt 1, then (by the next invocation) as attempt 2
        first_outcome = deliver(receiver.url, event, attempt=1)
        second_outcome = deliver(receiver.url, event, attempt=2)
        # Then both carry the event's id and the same signed body, numbered 1 and 2
        first, second = receiver.requests
        assert (
            first.headers["x-agenttasks-event-id"]
            == second.headers["x-agenttasks-event-id"]
            == event.event_id
        )
        assert [
            first.headers["x-agenttasks-delivery-attempt"],
            second.headers["x-agenttasks-delivery-attempt"],
        ] == ["1", "2"]
        assert first.body == second.body
        assert second.signature_valid
        assert (first_outcome.status, first_outcome.retryable) == ("failed", True)
        assert (second_outcome.status, second_outcome.attempts, second_outcome.last_status_code) == (
            "delivered",
            1,
            200,
        )


@pytest.mark.parametrize("status", [503, 500, 429])
def test_a_transient_failure_is_one_request_and_a_retryable_outcome(
    event: NotificationEvent, status: int
) -> None:
    # Given a receiver that keeps failing in a way that may pass later
    with receiver_with(status, retry_after="3") as receiver:
        # When the event is delivered
        outcome = deliver(receiver.url, event)
        # Then one request was made (the next attempt is the next invocation's), and the outcome says
        # a later one may succeed; nothing was retried or waited for here
        assert len(receiver.requests) == 1
        assert outcome.status == "failed"
        assert not outcome.delivered
        assert outcome.attempts == 1
        assert outcome.retryable
        assert outcome.last_status_code == status
        assert outcome.last_error == f"HTTP {status}"


def test_a_client_error_is_not_retried(event: NotificationEvent) -> None:
    with receiver_with(410) as receiver:
        outcome = deliver(receiver.url, event)
        assert len(receiver.requests) == 1
        assert (outcome.status, outcome.attempts, outcome.last_status_code) == ("failed", 1, 410)
        assert not outcome.retryable


def test_a_bad_signature_is_refused_by_the_receiver(event: NotificationEvent) -> None:
    with receiver_with(200) as receiver:
        receiver.secret = "a different secret"
        outcome = deliver(receiver.url, event)
        assert (outcome.status, outcome.last_status_code) == ("failed", 401)


def test_a_network_error_is_one_attempt_and_retryable(event: NotificationEvent) -> None:
    # Given a loopback port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = deliver(f"http://127.0.0.1:{port}/hook", event)
    assert outcome.status == "failed"
    assert outcome.attempts == 1
    assert outcome.retryable
    assert outcome.last_status_code is None
    assert outcome.last_error is not None
    assert outcome.last_error.startswith("network error: ConnectError")


def test_a_timeout_is_one_attempt_and_retryable(event: NotificationEvent) -> None:
    calls: list[httpx2.Request] = []

    def slow(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        raise httpx2.ReadTimeout("too slow", request=request)

    outcome = deliver("http://127.0.0.1:9/hook", event, transport=httpx2.MockTransport(slow))
    assert len(calls) == 1
    assert (outcome.status, outcome.attempts, outcome.last_error) == ("failed", 1, "timeout: ReadTimeout")
    assert outcome.retryable


# --- private destinations --------------------------------------------------------------------


def test_loopback_is_refused_when_validating_and_when_delivering(event: NotificationEvent) -> None:
    with receiver_with(200) as receiver:
        url = receiver.url.replace("127.0.0.1", "localhost")
        # At validation
        with pytest.raises(ValueError, match="webhook_url"):
            NotificationConfig.model_validate({"webhook_url": url}, context={"allow_private_network": False})
        # At delivery, without the allow-private flag: refused before any request, no exception
        outcome = deliver(url, event, allow_private=False)
        assert (outcome.status, outcome.attempts, outcome.last_status_code) == ("failed", 0, None)
        assert outcome.last_error is not None
        assert "loopback" in outcome.last_error
        assert receiver.requests == []


def test_a_public_name_that_resolves_to_loopback_is_refused_at_send_time(
    event: NotificationEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    with receiver_with(200) as receiver:
        # Given a name that passed validation, whose DNS answer has since turned to loopback
        url = f"https://hooks.example.com:{receiver.port}/hooks/agent-tasks"
        NotificationConfig.model_validate({"webhook_url": url}, context={"allow_private_network": False})
        rebinding = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", receiver.port))]
        monkeypatch.setattr(netguard.socket, "getaddrinfo", lambda *a, **k: rebinding)
        # When delivering: the re-check at send time refuses it
        outcome = deliver(url, event, allow_private=False)
        assert (outcome.status, outcome.attempts) == ("failed", 0)
        assert receiver.requests == []


def test_delivery_goes_to_the_checked_address_with_the_original_host(
    event: NotificationEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    with receiver_with(200) as receiver:
        # Given a name resolved once by the guard (and never again by the HTTP client)
        answers = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", receiver.port))]
        lookups: list[str] = []

        def resolve(host: str, *args: Any, **kwargs: Any) -> list[Any]:
            lookups.append(host)
            return answers

        monkeypatch.setattr(netguard.socket, "getaddrinfo", resolve)
        outcome = deliver(f"http://hooks.test.example:{receiver.port}/hooks/agent-tasks", event)
        assert outcome.delivered
        assert [h for h in lookups if h != "127.0.0.1"] == ["hooks.test.example"]  # the IP needs no DNS
        assert receiver.requests[0].headers["host"] == f"hooks.test.example:{receiver.port}"


# --- TLS -------------------------------------------------------------------------------------


@pytest.fixture
def https_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    """An HTTPS receiver for `localhost` and `hooks.test.example`, its CA named by SSL_CERT_FILE, and
    every name resolving to it (as a public name would, for the guard)."""
    tls = tls_files()
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_file))
    with running_receiver(WebhookReceiver(SECRET, [200], now=NOW, tls=tls.server_context())) as receiver:
        answers = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", receiver.port))]
        monkeypatch.setattr(netguard.socket, "getaddrinfo", lambda *a, **k: answers)
        yield receiver


def test_https_goes_to_the_checked_address_and_verifies_the_name(
    event: NotificationEvent, https_receiver: WebhookReceiver
) -> None:
    # Given an HTTPS receiver whose certificate (from a CA the environment names) is for its name
    port = https_receiver.port
    # When the event is delivered to that name (resolved once, by the guard)
    outcome = deliver(f"https://hooks.test.example:{port}/hooks/agent-tasks", event)
    # Then the TLS handshake checked the certificate against the name, and the request arrived
    assert (outcome.status, outcome.last_status_code) == ("delivered", 200)
    [request] = https_receiver.requests
    assert request.signature_valid
    assert request.headers["host"] == f"hooks.test.example:{port}"


def test_https_to_a_name_the_certificate_does_not_cover_is_refused(
    event: NotificationEvent, https_receiver: WebhookReceiver
) -> None:
    # Given the same receiver reached under a name its certificate does not hold
    url = f"https://elsewhere.test.example:{https_receiver.port}/hooks/agent-tasks"
    # When the event is delivered
    outcome = deliver(url, event)
    # Then the handshake fails on the name: nothing was received, and the failure is recorded
    assert outcome.status == "failed"
    assert outcome.last_error is not None
    assert "certificate is not valid for 'elsewhere.test.example'" in outcome.last_error
    assert https_receiver.requests == []


def test_https_with_an_untrusted_certificate_is_refused(
    event: NotificationEvent, https_receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an HTTPS receiver whose CA nothing trusts (SSL_CERT_FILE not set)
    monkeypatch.delenv("SSL_CERT_FILE")
    # When the event is delivered / Then the handshake fails and nothing is received
    outcome = deliver(https_receiver.url, event)
    assert outcome.status == "failed"
    assert outcome.last_error is not None
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.last_error
    assert https_receiver.requests == []
