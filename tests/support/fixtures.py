"""Fixtures that build real resources: moto tables and buckets from template.yaml, the local cloud."""

from __future__ import annotations

import gc
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from moto import mock_aws

from agent_tasks import adapters
from agent_tasks import aws as aws_clients
from agent_tasks.agent.model_catalog import forget_process_cache
from agent_tasks.aws import reset_clients
from agent_tasks.services.paging import cursor_signing_key
from agent_tasks.settings import get_settings
from agent_tasks_local import moto_bridge
from agent_tasks_local.lambdas import load_function_module
from tests.support.template import PROJECT_ROOT, create_table


def _refresh(*, keep_clients: bool = False) -> None:
    get_settings.cache_clear()
    cursor_signing_key.cache_clear()
    adapters.reset()
    if not (keep_clients and _clients_talk_to_aws()):
        reset_clients()
    forget_process_cache()


def _clients_talk_to_aws() -> bool:
    """Whether the process's cached boto3 clients address AWS's own endpoints (which in-process moto
    intercepts, whenever the client was made), not a local cloud's. Making a client costs 0.1-1 s
    (and more on a loaded machine): the `aws` fixture keeps them from one test to the next."""
    from agent_tasks import aws as clients

    made = (clients.dynamodb(), clients.s3(), clients.stepfunctions(), clients.events(), clients.sqs())
    return all(".amazonaws.com" in client.meta.endpoint_url for client in (*made, clients.kms()))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """In-process moto with the template's table and an artifacts bucket, unique names per test."""
    suffix = uuid.uuid4().hex[:8]
    names = {"TABLE_NAME": f"agent-tasks-{suffix}", "BUCKET_NAME": f"agent-tasks-artifacts-{suffix}"}
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # in-process moto, even after a local cloud started
    # The local cloud's two mends of moto's DynamoDB costs (a transaction copied the whole table,
    # once per item; every answer walked its output shape), here for in-process moto too.
    restores = [moto_bridge.transactions_at_item_cost(), moto_bridge.answers_without_shape_walk()]
    try:
        with mock_aws():
            for key, value in names.items():
                monkeypatch.setenv(key, value)
            monkeypatch.setenv(
                "STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:agent-tasks-test"
            )
            _refresh(keep_clients=True)
            create_table(aws_clients.dynamodb(), names["TABLE_NAME"])
            aws_clients.s3().create_bucket(Bucket=names["BUCKET_NAME"])
            yield names
    finally:
        for restore in reversed(restores):
            restore()
    _refresh(keep_clients=True)


class FakePorts:
    """The in-memory fakes of the side-effect ports, in use for one test."""

    def __init__(self) -> None:
        self.workflows = adapters.InMemoryWorkflows()
        self.event_bus = adapters.InMemoryEventBus()
        self.secure_values = adapters.InMemorySecureValues()
        self.topics = adapters.InMemoryTopics()


@pytest.fixture
def fake_ports() -> Iterator[FakePorts]:
    """Workflows, events, secure values and topics as in-memory fakes (our own ports): no moto for them."""
    fakes = FakePorts()
    with adapters.use(
        workflows=fakes.workflows,
        event_bus=fakes.event_bus,
        secure_values=fakes.secure_values,
        topics=fakes.topics,
    ):
        yield fakes


class LambdaClient:
    """Invokes a function module's `lambda_handler` with a minimal Lambda context."""

    def __init__(self, module: ModuleType, name: str) -> None:
        self.module = module
        self.name = name

    def __call__(self, event: dict[str, Any]) -> Any:
        return self.module.lambda_handler(event, _Context(self.name))


class _Context:
    def __init__(self, name: str) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def load_function(name: str) -> ModuleType:
    return load_function_module(PROJECT_ROOT / "functions" / name, "app", f"test_lambda_{name}")


@pytest.fixture
def api(aws: dict[str, str]) -> LambdaClient:
    """The API function's handler, against the moto table of this test."""
    return LambdaClient(load_function("api"), "api")


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The whole local cloud (moto server, the template deployed, the API front on a free port)."""
    from agent_tasks_local.cloud import LocalCloud

    os.environ["AGENT_TASKS_LOCAL_DIR"] = str(tmp_path_factory.mktemp("local-cloud"))
    # Rules fire and queues are delivered on demand: `rules.fire(...)`, `queues.drain(...)`.
    cloud = LocalCloud(
        api_port=0, fire_rules=False, poll_queues=False, extra_environment={"MODEL_PROVIDER": "scripted"}
    )
    cloud.start()
    gc.collect()
    gc.freeze()  # the cloud lives as long as the session: the collector need not walk it again
    try:
        yield cloud
    finally:
        cloud.stop()
        _refresh()


@pytest.fixture
def user_clients(local_cloud: Any) -> Iterator[Any]:
    """`make(user)`: an HTTP client of the local cloud's API signed in as `user` (closed afterwards)."""
    import httpx2 as httpx

    opened: list[httpx.Client] = []

    def make(user: str) -> httpx.Client:
        made = httpx.Client(
            base_url=local_cloud.api_url,
            headers={"Authorization": f"Bearer {local_cloud.token(user)}"},
            timeout=30.0,
        )
        opened.append(made)
        return made

    yield make
    for made in opened:
        made.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


__all__ = ["LambdaClient", "Path", "free_port", "load_function", "response_json"]
