"""Secrets for tools end to end in the local cloud, through the HTTP front.

A task with secrets ["API_TOKEN"] runs a scripted agent that echoes the secret, base64s it and sends
it as a bearer token to a loopback receiver that checks it. No value reaches the transcript, the
report (all four formats), the webhook body, the EventBridge event, the logs or the trace metadata.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import httpx2 as httpx
import pytest
from pypdf import PdfReader

from agent_tasks import observability
from agent_tasks.reports.render import render
from agent_tasks.scrub import encodings
from agent_tasks.services.reports import build_document
from agent_tasks.settings import get_settings
from agent_tasks.store import executions as execution_store
from tests.support.polling import wait_until
from tests.support.receiver import Receiver, receiver
from tests.support.webhook_receiver import WebhookReceiver, running_receiver

VALUE = "tok-e2e-7Hq2+/Zx9wLm4Rp=="
BEARER = '"Authorization": "Bearer {% raw %}{{ secret.API_TOKEN }}{% endraw %}"'
PROMPT = (
    "Check the deployment API.\n"
    'scripted-call: bash {"command": "echo $API_TOKEN"}\n'
    'scripted-call: bash {"command": "echo $API_TOKEN | base64"}\n'
    'scripted-call: http_request {"url": "URL/status", "headers": {BEARER}}\n'.replace("BEARER", BEARER)
)


@pytest.fixture
def http(local_cloud: Any) -> Iterator[Callable[[str], httpx.Client]]:
    opened: list[httpx.Client] = []

    def make(user: str) -> httpx.Client:
        client = httpx.Client(
            base_url=local_cloud.api_url,
            headers={"Authorization": f"Bearer {local_cloud.token(user)}"},
            timeout=30.0,
        )
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


@pytest.fixture
def loopback_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The receivers listen on loopback: the local cloud (ENVIRONMENT=local) may allow that."""
    monkeypatch.setenv("ALLOW_PRIVATE_NETWORK", "true")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


class _Traces:
    """Stands in for the X-Ray recorder and keeps every annotation and metadata value written."""

    def __init__(self) -> None:
        self.written: list[Any] = []

    @contextmanager
    def in_subsegment(self, name: str) -> Iterator[Any]:
        written = self.written
        written.append(name)

        class _Segment:
            def put_annotation(self, key: str, value: Any) -> None:
                written.append((key, value))

            def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
                written.append((key, value, namespace))

        yield _Segment()


@contextmanager
def event_queue(local_cloud: Any) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """An SQS queue subscribed to the service's bus by a rule: what EventBridge really delivers."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    bus = local_cloud.stack.outputs["EventBusName"]
    url = sqs.create_queue(QueueName="secrets-e2e-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="secrets-e2e", EventBusName=bus, EventPattern=json.dumps({"source": ["agent-tasks"]})
    )
    events.put_targets(Rule="secrets-e2e", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])

    def received() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    try:
        yield received
    finally:
        events.remove_targets(Rule="secrets-e2e", EventBusName=bus, Ids=["queue"])
        events.delete_rule(Name="secrets-e2e", EventBusName=bus)
        sqs.delete_queue(QueueUrl=url)


def assert_no_value(what: str, text: str) -> None:
    for encoded in encodings(VALUE):
        assert encoded not in text, f"{what} holds the secret (as {encoded!r})"


def test_a_run_uses_its_secret_and_no_output_holds_the_value(
    local_cloud: Any,
    http: Callable[[str], httpx.Client],
    loopback_allowed: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO")  # as deployed (POWERTOOLS_LOG_LEVEL=INFO)
    alice, bob = http("alice"), http("bob")
    traces = _Traces()
    monkeypatch.setattr(observability.tracer, "provider", traces)
    with (
        receiver(VALUE) as api,
        running_receiver(WebhookReceiver(secret="unused", statuses=[200])) as hook,
        event_queue(local_cloud) as events,
    ):
        # Given alice's secret and a task that gives it to its tools, reports in html and posts a webhook
        put = alice.put("/api/v1/secrets/API_TOKEN", json={"value": VALUE, "description": "deploy API"})
        assert put.status_code == 201, put.text
        created = alice.post(
            "/api/v1/tasks",
            json={
                "name": "Check with a token",
                "prompt_template": PROMPT.replace("URL", api.url),
                "allowed_tools": ["bash", "http_request"],
                "sdk_options": {"model": "claude-sonnet-5-5", "max_turns": 10},
                "secrets": ["API_TOKEN"],
                "generate_report": True,
                "report_format": "html",
                "notification_config": {"webhook_url": hook.url, "on": ["completed"]},
            },
        )
        assert created.status_code == 201, created.text
        task = created.json()
        hook.secret = task["webhook_secret"]
        # And the preview names the secret a run would get, not its value
        preview = alice.post(f"/api/v1/tasks/{task['id']}/preview", json={"variables": {}}).json()
        assert preview["secrets"] == ["API_TOKEN"]
        assert preview["secrets_missing"] == []
        # When it runs
        started = alice.post(f"/api/v1/tasks/{task['id']}/execute", json={"variables": {}})
        assert started.status_code == 202, started.text
        done = wait_until(
            lambda: (
                (e := alice.get(f"/api/v1/task-executions/{started.json()['id']}").json())["status"]
                in {"completed", "failed", "cancelled", "timed_out"}
                and e
            ),
            what="the execution to finish",
        )
        delivered = wait_until(events, what="the EventBridge event")
        assert wait_until(lambda: hook.requests, what="the webhook")
    # Then it completed, and the receiver got the real bearer token
    assert done["status"] == "completed", done
    assert _bearer_seen(api) == f"Bearer {VALUE}"
    assert done["result_data"]["secrets_scrubbed"] >= 3
    # And the transcript shows the outputs as [secret:API_TOKEN]: the model never saw the value
    messages = alice.get(f"/api/v1/sessions/{done['session_id']}/messages?page_size=50").json()
    results = [b for m in messages["items"] for b in m["content"] if b.get("type") == "tool_result"]
    assert [r["content"].strip() for r in results[:2]] == ["[secret:API_TOKEN]", "[secret:API_TOKEN]"]
    assert '"authorized": true' in results[2]["content"]
    assert_no_value("the transcript", json.dumps(messages))
    assert_no_value("the execution", json.dumps(done))
    # And the report, as the Report step made it (html) and in the other three formats
    report = alice.get(f"/api/v1/reports/{done['report_id']}").json()
    assert_no_value("the html report", httpx.get(report["download_url"]).text)
    execution = execution_store.get(done["id"])
    assert execution is not None
    document = build_document(execution)
    for fmt in ("json", "markdown"):
        assert_no_value(f"the {fmt} report", render(document, fmt).body.decode())
    pdf = PdfReader(io.BytesIO(render(document, "pdf").body))
    pdf_text = "".join(page.extract_text() for page in pdf.pages)
    assert "secret:API_TOKEN" in pdf_text.replace("\n", "")
    assert_no_value("the pdf report", pdf_text)
    # And the webhook body and the EventBridge event
    assert hook.requests[0].signature_valid
    assert_no_value("the webhook body", hook.requests[0].body.decode())
    assert [e["detail-type"] for e in delivered] == ["ExecutionSucceeded"]
    assert_no_value("the EventBridge event", json.dumps(delivered))
    # And every log line and every trace annotation and metadata value
    logged = json.dumps([vars(record) for record in caplog.records], default=str)
    assert "execution prepared" in logged
    assert_no_value("the logs", logged)
    assert any(item == "## tool http_request" for item in traces.written)
    assert_no_value("the traces", json.dumps(traces.written, default=str))
    # And the secret says which task's run used it, and bob sees none of it
    listed = alice.get("/api/v1/secrets").json()["items"]
    assert [(s["name"], s["last_used_by_task_id"]) for s in listed] == [("API_TOKEN", task["id"])]
    assert bob.get("/api/v1/secrets").json()["total"] == 0
    assert bob.delete("/api/v1/secrets/API_TOKEN").status_code == 404
    assert bob.post(f"/api/v1/tasks/{task['id']}/execute", json={"variables": {}}).status_code == 404
    # And while the task references it, alice's delete is a 409; forced, the next run fails at Prepare
    assert alice.delete("/api/v1/secrets/API_TOKEN").status_code == 409
    assert alice.delete("/api/v1/secrets/API_TOKEN", params={"force": "true"}).status_code == 204
    again = alice.post(f"/api/v1/tasks/{task['id']}/execute", json={"variables": {}}).json()
    failed = wait_until(
        lambda: (
            (e := alice.get(f"/api/v1/task-executions/{again['id']}").json())["status"] != "pending"
            and e["status"] != "running"
            and e
        ),
        what="the second execution to end",
    )
    assert failed["status"] == "failed"
    assert failed["error_message"].startswith("secret API_TOKEN is unavailable: it does not exist")
    assert failed["session_id"] is None


def _bearer_seen(api: Receiver) -> str | None:
    return api.seen[0]["authorization"] if api.seen else None
