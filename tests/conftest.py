"""Shared test setup: fake AWS credentials before anything imports boto3, and the fixtures."""

from __future__ import annotations

import gc
import os

# Nothing in the tests may reach a real AWS account or the network, except `make e2e-aws`
# (AGENT_TASKS_E2E_STACK set), whose e2e tests call the deployed stack with the caller's credentials.
for _name in ("AWS_ENDPOINT_URL", "ANTHROPIC_API_KEY"):
    os.environ.pop(_name, None)
if not os.environ.get("AGENT_TASKS_E2E_STACK"):
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
    )
os.environ.update(
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_METRICS_NAMESPACE="AgentTasks",
    POWERTOOLS_SERVICE_NAME="agent-tasks",
    POWERTOOLS_DEV="false",
    # What the template sets for every function (the `aws` fixture replaces them with its own names).
    TABLE_NAME="agent-tasks-test",
    BUCKET_NAME="agent-tasks-artifacts-test",
    EVENT_BUS_NAME="default",
    STATE_MACHINE_ARN="arn:aws:states:us-east-1:123456789012:stateMachine:agent-tasks-test",
)

pytest_plugins = ["tests.support.fixtures"]


def pytest_configure() -> None:
    # A test process keeps a large heap of long-lived objects (botocore's service models, moto, the
    # modules): with the default thresholds the collector walked it over and over, about 16% of an
    # integration run's CPU. Fewer young collections, and the imports frozen once collected.
    gc.set_threshold(50_000, 50, 100)


def pytest_collection_finish() -> None:
    gc.collect()
    gc.freeze()
