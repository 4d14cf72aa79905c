"""The executor's cold start with `anthropic`: Prepare and the first RunAgent step, fresh process.

Run: .venv/bin/python -m tests.bench.bench_executor_cold

Each fresh child starts moto in-process, creates the table and bucket, creates a task and an
execution through the API handler (untimed). Then it times, in CPU, Prepare and the first
RunAgent step (Prepare reads the model catalogue with the SDK, so `anthropic` is imported there)
against the local Messages server with the real client: importing `anthropic`, building the
client, the request, the loop. The `snapshot` variant imports `anthropic` and builds the client
before the timer, as a SnapStart before-snapshot hook would, so the difference is what SnapStart
takes out of a cold start.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from tests.bench import bench_env

PROCESSES = 3


class _LongContext(bench_env.Context):
    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def measure(variant: str) -> dict[str, Any]:
    bench_env.apply_environment()
    import os

    import boto3
    from moto import mock_aws

    from tests.support.messages_server import MessagesServer, text_reply

    with mock_aws(), MessagesServer(default=text_reply("All healthy.")) as server:
        os.environ.update(
            {
                "MODEL_PROVIDER": "anthropic",
                "ANTHROPIC_API_KEY": "sk-ant-bench",
                "ANTHROPIC_BASE_URL": server.url,
            }
        )
        from agent_tasks.observability import logger
        from agent_tasks_local.lambdas import load_function_module
        from tests.support.api_calls import valid_task
        from tests.support.template import create_table

        logger.setLevel("WARNING")
        create_table(
            boto3.client("dynamodb", region_name=bench_env.REGION), bench_env.ENVIRONMENT["TABLE_NAME"]
        )
        boto3.client("s3", region_name=bench_env.REGION).create_bucket(
            Bucket=bench_env.ENVIRONMENT["BUCKET_NAME"]
        )
        from tests.bench.bench_calls import _state_machine

        _state_machine()
        functions = bench_env.PROJECT_ROOT / "functions"
        api = load_function_module(functions / "api", "app", "bench_cold_api")
        body = valid_task()
        body["sdk_options"] = {"max_turns": 5}  # the default model
        created = api.lambda_handler(
            bench_env.task_event("POST", "/api/v1/tasks", body=body), bench_env.Context("api")
        )
        if created["statusCode"] != 201:
            raise RuntimeError(f"create: {created}")
        task_id = json.loads(created["body"])["id"]
        variables = {"variables": {"environment": "prod", "service": "api"}}
        started = api.lambda_handler(
            bench_env.task_event("POST", f"/api/v1/tasks/{task_id}/execute", body=variables),
            bench_env.Context("api"),
        )
        execution_id = json.loads(started["body"])["id"]
        executor = load_function_module(functions / "executor", "app", "bench_cold_executor")
        if variant == "snapshot":
            import anthropic

            anthropic.Anthropic(api_key="sk-ant-bench", base_url=server.url)
        before_modules = set(sys.modules)
        cpu, wall = time.process_time(), time.perf_counter()
        # Prepare reads the model catalogue with the SDK (issue 12): the SDK is imported there.
        executor.lambda_handler({"step": "prepare", "execution_id": execution_id}, _LongContext("executor"))
        step = executor.lambda_handler(
            {"step": "run_agent", "execution_id": execution_id}, _LongContext("executor")
        )
        result = {
            "first_run_agent_ms": (time.process_time() - cpu) * 1000,
            "first_run_agent_wall_ms": (time.perf_counter() - wall) * 1000,
            "modules_imported_by_the_step": len(set(sys.modules) - before_modules),
            "anthropic_imported_before": variant == "snapshot",
            "next": step.get("next"),
            "model_requests": len(server.requests),
        }
    return result


def run(processes: int = PROCESSES) -> dict[str, Any]:
    figures: dict[str, list[dict[str, Any]]] = {"cold": [], "snapshot": []}
    for _ in range(processes):  # interleaved, so a neighbour's load touches both alike
        for variant in figures:
            figures[variant].append(
                bench_env.run_child("tests.bench.bench_executor_cold", variant, timeout=300)
            )
    summary: dict[str, Any] = {"processes": processes}
    for variant, samples in figures.items():
        summary[variant] = {
            "first_run_agent_ms": bench_env.summary_ms([s["first_run_agent_ms"] for s in samples]),
            "modules_imported_by_the_step": samples[0]["modules_imported_by_the_step"],
            "next": samples[0]["next"],
        }
    return summary


Row = tuple[str, str, str, str]


def rows(result: dict[str, Any]) -> list[Row]:
    cold, snapshot = result["cold"], result["snapshot"]
    saved = cold["first_run_agent_ms"]["median"] - snapshot["first_run_agent_ms"]["median"]
    return [
        (
            "10 executor cold start",
            f"Prepare + first RunAgent, CPU, median of {result['processes']}",
            f"{cold['first_run_agent_ms']['median']:.1f} ms",
            f"imports anthropic: {cold['modules_imported_by_the_step']} modules",
        ),
        (
            "",
            "same, anthropic imported before (SnapStart hook)",
            f"{snapshot['first_run_agent_ms']['median']:.1f} ms",
            f"SnapStart would take out {saved:.0f} ms of CPU",
        ),
    ]


if __name__ == "__main__":
    if "--out" in sys.argv:
        bench_env.write_result(sys.argv, measure(bench_env.child_args(sys.argv)[1]))
    else:
        print(json.dumps(run(), indent=2))
