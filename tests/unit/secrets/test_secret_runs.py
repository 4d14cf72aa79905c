"""A run of a task with secrets, step by step against moto: the tools get them, nothing stores them,
and a secret that is gone or cannot be opened ends the run at Prepare, named, with the reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from agent_tasks.services import secrets as secret_service
from agent_tasks.services import workflow
from agent_tasks.services.actor import Actor
from agent_tasks.settings import get_settings
from agent_tasks.store import executions as execution_store
from agent_tasks.store import secrets as secret_store
from agent_tasks.store import sessions as session_store
from tests.support.executions import pending_execution, stored_task
from tests.support.receiver import Receiver, receiver
from tests.support.secrets import TOKEN_VALUE, put_secret

BEARER = '"Authorization": "Bearer {% raw %}{{ secret.API_TOKEN }}{% endraw %}"'
SCRIPT = (
    "Check the API.\n"
    'scripted-call: bash {"command": "echo $API_TOKEN"}\n'
    'scripted-call: bash {"command": "echo $API_TOKEN | base64"}\n'
    'scripted-call: http_request {"url": "URL/check", "headers": {BEARER}}\n'.replace("BEARER", BEARER)
)


@pytest.fixture
def local_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """ENVIRONMENT=local, so the loopback receiver may be reached (as in the local cloud)."""
    monkeypatch.setenv("ENVIRONMENT", "local")
    monkeypatch.setenv("ALLOW_PRIVATE_NETWORK", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def api(secrets_key: str, local_environment: None) -> Iterator[Receiver]:
    with receiver(TOKEN_VALUE) as server:
        yield server


def scripted_task(api: Receiver) -> Any:
    """alice's API_TOKEN, and her task whose scripted run echoes it, base64s it and sends it as a bearer."""
    put_secret("alice", "API_TOKEN")
    return stored_task(
        "alice",
        prompt_template=SCRIPT.replace("URL", api.url),
        allowed_tools=["bash", "http_request"],
        secrets=["API_TOKEN"],
    )


def _run(execution_id: str) -> dict[str, Any]:
    assert workflow.prepare(execution_id) == {"next": "run"}
    step = workflow.run_agent(execution_id)
    while step["next"] == "continue":
        step = workflow.run_agent(execution_id)
    return step


def _stored_everything(aws: dict[str, str]) -> str:
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=aws["TABLE_NAME"])["Items"]
    return json.dumps(items)


def test_the_tools_use_the_secret_and_no_value_is_stored(
    aws: dict[str, str], api: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    # Given alice's secret and a task whose scripted run echoes it, base64s it and sends it as a bearer token
    task = scripted_task(api)
    execution_id = pending_execution(task)
    # When it runs
    assert _run(execution_id) == {"next": "finalize"}
    assert workflow.finalize(execution_id, {}) == {"status": "completed"}
    # Then the receiver got the token
    assert api.seen[0]["authorization"] == f"Bearer {TOKEN_VALUE}"
    # And the transcript shows the outputs scrubbed, and the http call was authorized
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.session_id is not None
    results = [
        block
        for message in session_store.all_messages(execution.session_id)
        for block in message.content
        if block.get("type") == "tool_result"
    ]
    assert [r.get("is_error", False) for r in results] == [False, False, False]
    assert results[0]["content"].strip() == "[secret:API_TOKEN]"
    assert results[1]["content"].strip() == "[secret:API_TOKEN]"
    assert '"authorized": true' in results[2]["content"]
    # And the count says so
    assert execution.result_data is not None
    assert execution.result_data.secrets_scrubbed >= 3
    # And nothing in the table (execution, transcript, audit, secret item) holds the value
    assert TOKEN_VALUE not in _stored_everything(aws)
    assert TOKEN_VALUE not in caplog.text
    # And the secret records which task's run used it
    record = secret_store.get("alice", "API_TOKEN")
    assert record is not None
    assert (record.last_used_task_id, record.last_used_execution_id) == (task.id, execution_id)


def test_a_secret_deleted_with_force_ends_the_run_at_prepare_naming_it(
    aws: dict[str, str], secrets_key: str
) -> None:
    # Given a task that references a secret, which is then deleted with force
    put_secret("alice", "API_TOKEN")
    task = stored_task("alice", allowed_tools=["bash"], secrets=["API_TOKEN"])
    secret_service.delete_secret(Actor("alice"), "API_TOKEN", force=True)
    execution_id = pending_execution(task)
    # When Prepare runs, it fails naming the secret and why
    with pytest.raises(workflow.AgentRunFailed, match="secret API_TOKEN is unavailable: it does not exist"):
        workflow.prepare(execution_id)
    # And MarkFailed (as the state machine calls it) records that reason
    cause = json.dumps(
        {"errorType": "AgentRunFailed", "errorMessage": "secret API_TOKEN is unavailable: it does not exist"}
    )
    workflow.mark_failed(execution_id, {"Error": "AgentRunFailed", "Cause": cause})
    failed = execution_store.get(execution_id)
    assert failed is not None
    assert failed.status == "failed"
    assert failed.session_id is None  # it never started
    assert failed.error_message is not None
    assert failed.error_message.startswith("secret API_TOKEN is unavailable")


def test_a_sealed_value_copied_to_another_owner_does_not_open(aws: dict[str, str], secrets_key: str) -> None:
    # Given alice's sealed value copied into an item of bob's (as if the table were tampered with)
    put_secret("alice", "API_TOKEN")
    alices = secret_store.get("alice", "API_TOKEN")
    assert alices is not None
    put_secret("bob", "API_TOKEN", "bobs-own-value-1")
    table = boto3.client("dynamodb", region_name="us-east-1")
    table.update_item(
        TableName=aws["TABLE_NAME"],
        Key=secret_store.secret_key("bob", "API_TOKEN"),
        UpdateExpression="SET sealed = :s",
        ExpressionAttributeValues={":s": {"M": {k: {"S": v} for k, v in alices.sealed.model_dump().items()}}},  # type: ignore[union-attr]
    )
    task = stored_task("bob", allowed_tools=["bash"], secrets=["API_TOKEN"])
    # When bob's run opens it, KMS refuses (the encryption context names alice) and the run fails
    with pytest.raises(
        workflow.AgentRunFailed, match="secret API_TOKEN is unavailable: KMS could not decrypt"
    ):
        workflow.prepare(pending_execution(task))


def test_preview_names_the_secrets_a_run_would_get_and_the_missing_ones(
    aws: dict[str, str], secrets_key: str
) -> None:
    from agent_tasks.services import execution_queries

    put_secret("alice", "API_TOKEN")
    put_secret("alice", "OTHER")
    task = stored_task("alice", secrets=["API_TOKEN", "OTHER"])
    secret_service.delete_secret(Actor("alice"), "OTHER", force=True)
    preview = execution_queries.preview(Actor("alice"), task.id, {})
    assert preview.secrets == ["API_TOKEN", "OTHER"]
    assert preview.secrets_missing == ["OTHER"]
    assert TOKEN_VALUE not in preview.model_dump_json()


def test_a_failure_whose_text_holds_the_value_leaves_scrubbed(
    aws: dict[str, str], api: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a run whose storing of a message fails with an error quoting the secret's value
    task = scripted_task(api)
    execution_id = pending_execution(task)
    workflow.prepare(execution_id)

    def broken(_session: Any, message: Any, **_: Any) -> None:
        raise RuntimeError(f"could not store {message.model_dump_json()} for {TOKEN_VALUE}")

    monkeypatch.setattr(session_store, "put_message", broken)
    # When RunAgent fails, the error that leaves it (to Lambda, Step Functions, X-Ray) is scrubbed
    with pytest.raises(workflow.AgentRunFailed) as failure:
        workflow.run_agent(execution_id)
    assert TOKEN_VALUE not in str(failure.value)
    assert "[secret:API_TOKEN]" in str(failure.value)
    assert failure.value.__cause__ is None
    assert failure.value.__suppress_context__
