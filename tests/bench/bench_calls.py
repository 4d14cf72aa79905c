"""AWS calls per API operation, counted with botocore event hooks against an in-process moto table.

Calls are counted, not timed: moto's latency says nothing about DynamoDB's (DESIGN.md,
"Performance notes"), while the number of calls and the items each one touches carry over.

Run by hand: .venv/bin/python -m tests.bench.bench_calls --out /tmp/calls.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.bench import bench_env

BASELINE_PATH = Path(__file__).with_name("baseline.json")

# The fewest DynamoDB calls the single-table design allows for each operation.
MINIMUM = {
    "create": ("1 TransactWriteItems", 1),
    "get": ("1 GetItem", 1),
    "list": ("1 Query", 1),
    "update": ("GetItem + TransactWriteItems", 2),
    "delete": ("GetItem + TransactWriteItems", 2),
    "execute": ("BatchGetItem (task + limits) + TransactWriteItems, then StartExecution", 2),
    "execute, Idempotency-Key": ("BatchGetItem + TransactWriteItems (key in the same transaction)", 2),
    "get execution": ("1 GetItem", 1),
    "list executions": ("GetItem (owner) + Query", 2),
}
EXECUTION_PATHS = {
    "execute": "/api/v1/tasks/{task_id}/execute",
    "list executions": "/api/v1/tasks/{task_id}/executions",
    "get execution": "/api/v1/task-executions/{execution_id}",
}
OTHER_SERVICES = ("s3", "stepfunctions", "events")


class CallLog:
    """Every API call the clients of agent_tasks.aws make, with the items a write touches."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    def hook(self, service: str) -> Callable[..., None]:
        def record(model: Any, params: dict[str, Any], **_: Any) -> None:
            items = len(params.get("TransactItems", ()))
            self.calls.append((service, model.name, items))

        return record

    def take(self) -> list[tuple[str, str, int]]:
        taken, self.calls = self.calls, []
        return taken


def _describe(calls: list[tuple[str, str, int]]) -> list[str]:
    return [f"{op}({items} items)" if items else op for service, op, items in calls if service == "dynamodb"]


def measure() -> dict[str, Any]:
    bench_env.apply_environment()
    import boto3
    from moto import mock_aws

    from agent_tasks import aws
    from agent_tasks_local.lambdas import load_function_module
    from tests.support.api_calls import valid_task
    from tests.support.template import create_table

    with mock_aws():
        create_table(
            boto3.client("dynamodb", region_name=bench_env.REGION), bench_env.ENVIRONMENT["TABLE_NAME"]
        )
        log = CallLog()
        clients = {"dynamodb": aws.dynamodb(), "s3": aws.s3(), "stepfunctions": aws.stepfunctions()}
        clients["events"] = aws.events()
        for service, client in clients.items():
            client.meta.events.register(
                f"before-parameter-build.{client.meta.service_model.service_id.hyphenize()}",
                log.hook(service),
            )
        module = load_function_module(bench_env.API_DIR, "app", "bench_lambda_api")

        def call(method: str, path: str, expected: int, **kwargs: Any) -> dict[str, Any]:
            response: dict[str, Any] = module.lambda_handler(
                bench_env.task_event(method, path, **kwargs), bench_env.Context("api")
            )
            if response["statusCode"] != expected:
                raise RuntimeError(f"{method} {path}: {response['statusCode']} {response.get('body')}")
            return response

        for index in range(3):  # a few tasks to list
            call("POST", "/api/v1/tasks", 201, body=valid_task(name=f"Bench listing {index}"))
        log.take()
        operations: dict[str, list[tuple[str, str, int]]] = {}
        created = json.loads(call("POST", "/api/v1/tasks", 201, body=valid_task())["body"])
        operations["create"] = log.take()
        task_path = f"/api/v1/tasks/{created['id']}"
        call("GET", task_path, 200)
        operations["get"] = log.take()
        call("GET", "/api/v1/tasks", 200)
        operations["list"] = log.take()
        call("PATCH", task_path, 200, body={"description": "changed"}, headers={"If-Match": '"1"'})
        operations["update"] = log.take()
        call("DELETE", task_path, 204, headers={"If-Match": '"2"'})
        operations["delete"] = log.take()
        missing = _missing_operations(module)
        if not missing:
            _state_machine()
            # Executions are being built alongside: a failure there is reported, not fatal.
            try:
                operations.update(_executions(call, log, valid_task))
            except Exception as error:
                missing = [f"executions ({type(error).__name__}: {str(error)[:120]})"]

    result: dict[str, Any] = {"operations": {}, "not_measured": missing}
    for name, calls in operations.items():
        minimum_text, minimum = MINIMUM[name]
        result["operations"][name] = {
            "dynamodb_calls": sum(1 for service, _, _ in calls if service == "dynamodb"),
            "dynamodb": _describe(calls),
            "other_aws_calls": [f"{s}.{op}" for s, op, _ in calls if s != "dynamodb"],
            "minimum": minimum,
            "minimum_is": minimum_text,
        }
    return result


def _missing_operations(module: Any) -> list[str]:
    """Execution operations whose routes are not in the API (yet). The full document: the app itself
    holds only the task routes until a request for another path includes the rest (functions/api)."""
    paths = set(json.loads(module._openapi_document())["paths"])
    return [name for name, path in EXECUTION_PATHS.items() if path not in paths]


def _state_machine() -> None:
    """A state machine at STATE_MACHINE_ARN, so StartExecution succeeds (moto does not run it)."""
    import boto3

    arn = bench_env.ENVIRONMENT["STATE_MACHINE_ARN"]
    boto3.client("stepfunctions", region_name=bench_env.REGION).create_state_machine(
        name=arn.rsplit(":", 1)[1],
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/agent-tasks-bench",
    )


def _executions(call: Callable[..., dict[str, Any]], log: CallLog, valid_task: Any) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    task = json.loads(call("POST", "/api/v1/tasks", 201, body=valid_task(name="Bench executions"))["body"])
    variables = {"variables": {"environment": "prod", "service": "api"}}
    call("POST", f"/api/v1/tasks/{task['id']}/execute", 202, body=variables)  # one to list besides
    log.take()
    started = json.loads(call("POST", f"/api/v1/tasks/{task['id']}/execute", 202, body=variables)["body"])
    operations["execute"] = log.take()
    call(
        "POST", f"/api/v1/tasks/{task['id']}/execute", 202, body=variables, headers={"Idempotency-Key": "k1"}
    )
    operations["execute, Idempotency-Key"] = log.take()
    call("GET", f"/api/v1/task-executions/{started['id']}", 200)
    operations["get execution"] = log.take()
    call("GET", f"/api/v1/tasks/{task['id']}/executions", 200)
    operations["list executions"] = log.take()
    return operations


def check_against_baseline(result: dict[str, Any]) -> list[str]:
    """Counts above the recorded baseline (an empty list means the bench passes)."""
    baseline: dict[str, int] = json.loads(BASELINE_PATH.read_text())["dynamodb_calls"]
    failures = []
    for name, figures in result["operations"].items():
        allowed = baseline.get(name)
        if allowed is not None and figures["dynamodb_calls"] > allowed:
            failures.append(f"{name}: {figures['dynamodb_calls']} DynamoDB calls, baseline {allowed}")
        figures["baseline"] = allowed
    return failures


def run() -> dict[str, Any]:
    result: dict[str, Any] = bench_env.run_child(__name__, timeout=300)
    return result


if __name__ == "__main__":
    bench_env.write_result(sys.argv, measure())
