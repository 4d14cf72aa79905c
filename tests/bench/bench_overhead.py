"""What one execution costs in AWS besides the model: a 10-turn run, priced at us-east-1 list prices.

Run: .venv/bin/python -m tests.bench.bench_overhead

The execution really runs, in-process, against moto and the local Messages server (with its
prompt-cache accounting): the API's execute, then the executor's Prepare, RunAgent (as many
invocations as the loop asks for), the reporter, and Finalize, as the state machine calls them.
Every AWS call is recorded (service, operation, bytes), and each invocation's own CPU time is
measured with moto's time left out. From those:

- Lambda: billed duration per invocation = own CPU time / the vCPU share of its memory size
  (1,769 MB is one vCPU) + modelled service latencies for its AWS calls + the time it waits on
  the model (MODEL_SECONDS_PER_TURN per model call): Lambda bills the wait like work.
  GB-seconds at the template's memory sizes, plus requests.
- Step Functions standard: the states the run enters (Prepare, RunAgent and WhatNext per
  invocation, Report, Finalize, Done).
- DynamoDB on demand: write units (1 KB) and read units (4 KB, half for eventual reads),
  transactions double, from the items' sizes.
- S3 and EventBridge requests; X-Ray traces (every invocation sampled: the worst case).
Beside it, the model cost of the same run on claude-sonnet-5-5.
"""

from __future__ import annotations

import json
import math
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from agent_tasks.agent.pricing import price_table
from tests.bench import bench_env

TURNS = 10
# The wait on one model call: time to the first token plus the output at a steady rate (assumed,
# typical of Sonnet-class models; both are parameters here, not measurements).
FIRST_TOKEN_SECONDS = 1.5
OUTPUT_TOKENS_PER_SECOND = 60.0
ONE_VCPU_MB = 1769  # Lambda: memory buys CPU; 1,769 MB is one full vCPU
LATENCY_SECONDS = {"dynamodb": 0.006, "s3": 0.030, "stepfunctions": 0.040, "events": 0.020, "other": 0.020}
PRICES_DATE = "2026-12-02"
# us-east-1 list prices (AWS pricing pages as published; arm64 Lambda; Step Functions standard).
PRICES = {
    "lambda_gb_second_arm64": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    "sfn_state_transition": 0.025 / 1e3,
    "dynamodb_write_unit": 0.625 / 1e6,
    "dynamodb_read_unit": 0.125 / 1e6,
    "s3_put_request": 0.005 / 1e3,
    "s3_get_request": 0.0004 / 1e3,
    "eventbridge_event": 1.00 / 1e6,
    "xray_trace": 5.00 / 1e6,
}
# Each turn runs a check whose output is about 1.5 KB, as a deployment check's would be.
CHECK_COMMAND = ("bash", {"command": 'for i in $(seq 1 60); do echo "service $i: healthy, p99 120 ms"; done'})
MODEL_PRICES = (
    price_table()
    .models["claude-sonnet-5-5"][-1]
    .model_dump(  # from the shipped price data
        include={"input", "output", "cache_write_5m", "cache_read"}
    )
)
EXECUTOR_MEMORY_ALTERNATIVES = (256, 512, 1024, 1769)
S3_PUT_OPERATIONS = {"PutObject", "CopyObject", "ListObjectsV2", "DeleteObjects", "CreateMultipartUpload"}


@dataclass
class Invocation:
    function: str
    cpu_seconds: float = 0.0
    model_calls: int = 0
    calls: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Recorder:
    """Every AWS call our code makes, with the DynamoDB request units it would consume."""

    invocations: list[Invocation] = field(default_factory=list)
    write_units: float = 0.0
    read_units: float = 0.0
    s3_put: int = 0
    s3_get: int = 0
    events: int = 0
    units_by_operation: dict[str, float] = field(default_factory=dict)

    def reset(self) -> None:
        self.invocations.clear()
        self.write_units = self.read_units = 0.0
        self.s3_put = self.s3_get = self.events = 0
        self.units_by_operation.clear()

    def record(self, service: str, operation: str, params: dict[str, Any], response: dict[str, Any]) -> None:
        if self.invocations:
            self.invocations[-1].calls.append((service, operation))
        if service == "dynamodb":
            before = self.write_units + self.read_units
            self._dynamodb_units(operation, params, response)
            spent = self.write_units + self.read_units - before
            self.units_by_operation[operation] = self.units_by_operation.get(operation, 0.0) + spent
        elif service == "s3":
            if operation in S3_PUT_OPERATIONS:
                self.s3_put += 1
            else:
                self.s3_get += 1
        elif service == "eventbridge" and operation == "PutEvents":
            self.events += len(params.get("Entries", ()))

    def _dynamodb_units(self, operation: str, params: dict[str, Any], response: dict[str, Any]) -> None:
        if operation == "TransactWriteItems":
            for item in params.get("TransactItems", ()):
                (kind, body), *_ = item.items()
                size = _size(body.get("Item") or body.get("Key") or {})
                self.write_units += 2 * (1 if kind == "ConditionCheck" else max(1, math.ceil(size / 1024)))
        elif operation in {"PutItem", "UpdateItem", "DeleteItem"}:
            size = max(_size(params.get("Item") or {}), _size(response.get("Attributes") or {}))
            self.write_units += max(1, math.ceil(size / 1024))
        elif operation == "BatchWriteItem":
            for requests in params.get("RequestItems", {}).values():
                for request in requests:
                    item = request.get("PutRequest", {}).get("Item") or {}
                    self.write_units += max(1, math.ceil(_size(item) / 1024))
        elif operation in {"GetItem", "Query", "Scan"}:
            items = [response["Item"]] if response.get("Item") else response.get("Items", [])
            size = sum(_size(item) for item in items)
            units = max(1, math.ceil(size / 4096))
            self.read_units += units if params.get("ConsistentRead") else units / 2


def _size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it, near enough: names plus values in their JSON text."""
    return len(json.dumps(item, default=str).encode())


@contextmanager
def _recording(recorder: Recorder) -> Iterator[None]:
    from botocore.client import BaseClient

    original = BaseClient._make_api_call  # type: ignore[attr-defined]

    def recorded(client: Any, operation: str, params: dict[str, Any]) -> Any:
        response = original(client, operation, params)
        service = client.meta.service_model.service_id.hyphenize()
        recorder.record(service, operation, params, response if isinstance(response, dict) else {})
        return response

    BaseClient._make_api_call = recorded  # type: ignore[attr-defined]
    try:
        yield
    finally:
        BaseClient._make_api_call = original  # type: ignore[attr-defined]


class _LongContext(bench_env.Context):
    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def _run_execution(recorder: Recorder, server: Any, max_calls: int | None) -> dict[str, Any]:
    """One execution, step by step as the state machine runs it; returns what the run recorded."""
    import os

    from agent_tasks import aws
    from agent_tasks.settings import get_settings
    from agent_tasks_local.lambdas import load_function_module
    from tests.bench.bench_prompt_cache import SYSTEM_PROMPT, _responder
    from tests.support.api_calls import valid_task

    os.environ.update(
        {"MODEL_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": "sk-ant-bench", "ANTHROPIC_BASE_URL": server.url}
    )
    if max_calls:
        os.environ["RUN_AGENT_MAX_MODEL_CALLS"] = str(max_calls)
    else:
        os.environ.pop("RUN_AGENT_MAX_MODEL_CALLS", None)
    get_settings.cache_clear()
    aws.reset_clients()
    functions = bench_env.PROJECT_ROOT / "functions"
    api = load_function_module(functions / "api", "app", "bench_overhead_api")
    executor = load_function_module(functions / "executor", "app", "bench_overhead_executor")
    reporter = load_function_module(functions / "reporter", "app", "bench_overhead_reporter")

    body = valid_task(name=f"Overhead {uuid.uuid4().hex[:8]}", generate_report=True, report_format="html")
    body["allowed_tools"] = ["bash", "read_file", "list_files", "grep"]
    body["sdk_options"] = {"max_turns": TURNS, "system_prompt": SYSTEM_PROMPT}
    created = api.lambda_handler(
        bench_env.task_event("POST", "/api/v1/tasks", body=body), bench_env.Context("api")
    )
    task = json.loads(created["body"])
    recorder.reset()  # the task is made once, not per execution: count from the execute call on
    server.responder = _responder(TURNS, CHECK_COMMAND)
    requests_before = len(server.requests)

    def invoke(function: str, module: Any, event: dict[str, Any]) -> Any:
        recorder.invocations.append(Invocation(function))
        moto_before, started = bench_env.MotoClock.cpu_ms, time.thread_time()
        calls_before = len(server.requests)
        result = module.lambda_handler(event, _LongContext(function))
        own = time.thread_time() - started - (bench_env.MotoClock.cpu_ms - moto_before) / 1000
        recorder.invocations[-1].cpu_seconds = max(own, 0.0)
        recorder.invocations[-1].model_calls = len(server.requests) - calls_before
        return result

    variables = {"variables": {"environment": "prod", "service": "api"}}
    answer = invoke(
        "api", api, bench_env.task_event("POST", f"/api/v1/tasks/{task['id']}/execute", body=variables)
    )
    execution_id = json.loads(answer["body"])["id"]
    states = ["Prepare"]
    invoke("executor", executor, {"step": "prepare", "execution_id": execution_id})
    step: dict[str, Any] = {"next": "continue"}
    while step.get("next") == "continue":
        states += ["RunAgent", "WhatNext"]
        step = invoke("executor", executor, {"step": "run_agent", "execution_id": execution_id})
    state: dict[str, Any] = {"execution_id": execution_id}
    if step.get("next") == "report":
        states.append("Report")
        state["report"] = invoke("reporter", reporter, {"execution_id": execution_id})
    states += ["Finalize", "Done"]
    final = invoke("executor", executor, {"step": "finalize", "execution_id": execution_id, "state": state})
    if final.get("status") != "completed":
        raise RuntimeError(f"the execution ended {final}")
    return {"states": states, "model_requests": [r.body for r in server.requests[requests_before:]]}


def _model_cost(bodies: list[dict[str, Any]]) -> dict[str, Any]:
    from tests.support.prompt_cache import PromptCache

    cache = PromptCache(clock=lambda: 0.0)
    from tests.bench.bench_prompt_cache import OUTPUT_TOKENS_PER_TURN

    total = 0.0
    tokens = {"input": 0, "cache_write": 0, "cache_read": 0, "output": 0}
    for body in bodies:
        usage = cache.account(body)
        tokens["input"] += usage.input_tokens
        tokens["cache_write"] += usage.cache_creation_input_tokens
        tokens["cache_read"] += usage.cache_read_input_tokens
        tokens["output"] += OUTPUT_TOKENS_PER_TURN
    total = (
        tokens["input"] * MODEL_PRICES["input"]
        + tokens["cache_write"] * MODEL_PRICES["cache_write_5m"]
        + tokens["cache_read"] * MODEL_PRICES["cache_read"]
        + tokens["output"] * MODEL_PRICES["output"]
    ) / 1e6
    return {"usd": round(total, 6), "tokens": tokens}


def _model_seconds() -> float:
    from tests.bench.bench_prompt_cache import OUTPUT_TOKENS_PER_TURN

    return FIRST_TOKEN_SECONDS + OUTPUT_TOKENS_PER_TURN / OUTPUT_TOKENS_PER_SECOND


def _memory_sizes() -> dict[str, int]:
    from tests.support.template import template

    document = template()
    default = document.get("Globals", {}).get("Function", {}).get("MemorySize", 128)

    def megabytes(value: Any) -> int:  # a number, or a Ref to a parameter: its default
        if isinstance(value, dict) and "Ref" in value:
            value = document["Parameters"][value["Ref"]]["Default"]
        return int(value)

    names = {"api": "ApiFunction", "executor": "ExecutorFunction", "reporter": "ReporterFunction"}
    return {
        short: megabytes(document["Resources"][name]["Properties"].get("MemorySize", default))
        for short, name in names.items()
    }


def price(recorder: Recorder, states: list[str], memory: dict[str, int]) -> dict[str, Any]:
    gb_seconds = 0.0
    billed_seconds: dict[str, float] = {}
    for invocation in recorder.invocations:
        share = min(1.0, memory[invocation.function] / ONE_VCPU_MB)
        latency = sum(
            LATENCY_SECONDS.get(service, LATENCY_SECONDS["other"]) for service, _ in invocation.calls
        )
        seconds = invocation.cpu_seconds / share + latency + invocation.model_calls * _model_seconds()
        billed_seconds[invocation.function] = billed_seconds.get(invocation.function, 0.0) + seconds
        gb_seconds += seconds * memory[invocation.function] / 1024
    parts = {
        "lambda_duration": gb_seconds * PRICES["lambda_gb_second_arm64"],
        "lambda_requests": len(recorder.invocations) * PRICES["lambda_request"],
        "step_functions": len(states) * PRICES["sfn_state_transition"],
        "dynamodb": recorder.write_units * PRICES["dynamodb_write_unit"]
        + recorder.read_units * PRICES["dynamodb_read_unit"],
        "s3": recorder.s3_put * PRICES["s3_put_request"] + recorder.s3_get * PRICES["s3_get_request"],
        "eventbridge": recorder.events * PRICES["eventbridge_event"],
        "xray": len(recorder.invocations) * PRICES["xray_trace"],
    }
    return {
        "usd": {k: round(v, 8) for k, v in parts.items()},
        "total_usd": round(sum(parts.values()), 8),
        "lambda_gb_seconds": round(gb_seconds, 3),
        "billed_seconds": {k: round(v, 3) for k, v in billed_seconds.items()},
        "invocations": len(recorder.invocations),
        "state_transitions": len(states),
        "dynamodb_write_units": recorder.write_units,
        "dynamodb_read_units": recorder.read_units,
        "dynamodb_units_by_operation": recorder.units_by_operation,
        "s3_requests": recorder.s3_put + recorder.s3_get,
        "events": recorder.events,
        "own_cpu_ms": round(sum(i.cpu_seconds for i in recorder.invocations) * 1000, 1),
    }


def measure() -> dict[str, Any]:
    bench_env.apply_environment()
    import boto3
    from moto import mock_aws

    from agent_tasks.observability import logger
    from tests.bench.bench_calls import _state_machine
    from tests.support.messages_server import MessagesServer
    from tests.support.prompt_cache import PromptCache
    from tests.support.template import create_table

    logger.setLevel("WARNING")
    bench_env.MotoClock.install()
    memory = _memory_sizes()
    variants: dict[str, Any] = {}
    with mock_aws(), MessagesServer(prompt_cache=PromptCache(clock=lambda: 0.0)) as server:
        create_table(
            boto3.client("dynamodb", region_name=bench_env.REGION), bench_env.ENVIRONMENT["TABLE_NAME"]
        )
        boto3.client("s3", region_name=bench_env.REGION).create_bucket(
            Bucket=bench_env.ENVIRONMENT["BUCKET_NAME"]
        )
        _state_machine()
        with _recording(Recorder()):  # warm-up: imports and first clients, paid once per environment
            _run_execution(Recorder(), server, None)
        for label, max_calls in (("all turns in one RunAgent", None), ("one turn per RunAgent", 1)):
            recorder = Recorder()
            with _recording(recorder):
                run = _run_execution(recorder, server, max_calls)
            model = _model_cost(run["model_requests"])
            at_template = price(recorder, run["states"], memory)
            by_memory = {
                size: price(recorder, run["states"], {**memory, "executor": size})["total_usd"]
                for size in EXECUTOR_MEMORY_ALTERNATIVES
            }
            variants[label] = {
                "model": model,
                "overhead": at_template,
                "overhead_share_of_model": round(at_template["total_usd"] / model["usd"], 4),
                "overhead_share_by_executor_memory_mb": {
                    str(size): round(usd / model["usd"], 4) for size, usd in by_memory.items()
                },
            }
    return {
        "turns": TURNS,
        "model_seconds_per_turn": _model_seconds(),
        "memory_mb": memory,
        "latency_seconds": LATENCY_SECONDS,
        "prices": PRICES,
        "prices_date": PRICES_DATE,
        "variants": variants,
    }


def run() -> dict[str, Any]:
    result: dict[str, Any] = bench_env.run_child("tests.bench.bench_overhead", timeout=300)
    return result


if __name__ == "__main__":
    if "--out" in sys.argv:
        bench_env.write_result(sys.argv, measure())
    else:
        print(json.dumps(measure(), indent=2))


Row = tuple[str, str, str, str]


def rows(result: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    for index, (label, variant) in enumerate(result["variants"].items()):
        overhead = variant["overhead"]
        share, model_usd = variant["overhead_share_of_model"], variant["model"]["usd"]
        counts = (
            f"{overhead['lambda_gb_seconds']} / {overhead['invocations']} / {overhead['state_transitions']}"
        )
        parts = ", ".join(f"{k} {v:.6f}" for k, v in overhead["usd"].items())
        shares = ", ".join(
            f"{mb} MB {share:.2%}" for mb, share in variant["overhead_share_by_executor_memory_mb"].items()
        )
        out += [
            (
                "8 AWS cost per execution" if index == 0 else "",
                f"{result['turns']}-turn run, {label}",
                f"${overhead['total_usd']:.5f}",
                f"{share:.2%} of the model's ${model_usd:.4f}; target <= 1%",
            ),
            ("", "  by service (USD)", "", parts),
            (
                "",
                "  Lambda GB-s / invocations / transitions",
                counts,
                f"executor billed {overhead['billed_seconds']['executor']} s, model wait included",
            ),
            ("", "  share of model cost by executor memory", "", shares),
        ]
    return out
