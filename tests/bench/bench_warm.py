"""Warm overhead per request: our handler and its framework, with DynamoDB taken out.

A `before-call` hook on the client from agent_tasks.aws.dynamodb() answers every DynamoDB call
with a canned response, so botocore serialises the request but never signs, sends or parses
one: what is timed is routing, validation, our service and store code, (de)serialisation of
items, Powertools logger/tracer/metrics, and the framework. The FastAPI + Mangum peer
(tests/bench/bench_peer.py) is timed the same way in the same process.

Run by hand: .venv/bin/python -m tests.bench.bench_warm --out /tmp/warm.json
"""

from __future__ import annotations

import contextlib
import copy
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from tests.bench import bench_env

ROUNDS = 5
LIST_ITEMS = 20  # one full page at the default page_size


def _stored_task(index: int) -> Any:
    from agent_tasks.models.common import utc_now
    from agent_tasks.models.tasks import Task, TaskCreate
    from tests.support.api_calls import valid_task

    body = TaskCreate.model_validate(valid_task(name=f"Check Deployment Status {index}"))
    now = utc_now()
    return Task(
        **dict(body), id=str(uuid.uuid4()), owner_id=bench_env.USER, version=1, created_at=now, updated_at=now
    )


def _stub_dynamodb(responses: dict[str, dict[str, Any]]) -> None:
    from botocore.awsrequest import AWSResponse

    from agent_tasks import aws

    def short_circuit(model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        # As botocore's Stubber answers: an HTTP 200 with no raw body, and the parsed response.
        return AWSResponse(None, 200, {}, None), dict(responses[model.name])  # type: ignore[arg-type]

    # botocore's stubs type handlers as returning None; a `before-call` handler may return a response.
    aws.dynamodb().meta.events.register("before-call.dynamodb", short_circuit)  # type: ignore[arg-type]


@contextlib.contextmanager
def _stdout_discarded() -> Iterator[None]:
    """Both handlers print their logs and metrics (EMF) to stdout, as in Lambda; keep them off the bench's."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def _service_alone() -> Handler:
    """What both handlers do besides their framework, with none: parse and validate the body, call
    the service, build and serialise the answer. No routing, logger, tracer or metrics decorators.

    Whatever framework sits on top only adds to it, so its time over the best peer's is the lowest
    ratio any framework could reach with this service beneath it.
    """
    import json

    from agent_tasks.models.tasks import TaskCreate, TaskFilters, TaskResponse
    from agent_tasks.services import tasks as service
    from agent_tasks.services.actor import Actor

    actor = Actor(user_id=bench_env.USER, request_id="bench")
    unfiltered = TaskFilters(tags=(), is_scheduled=None, is_active=None, q=None)

    def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        task_id = (event.get("pathParameters") or {}).get("task_id")
        if event["requestContext"]["http"]["method"] == "POST":
            created = service.create_task(actor, TaskCreate.model_validate(json.loads(event["body"])))
            body = TaskResponse.of(created, reveal_webhook_secret=True).model_dump_json(by_alias=True)
            return {"statusCode": 201, "body": body}
        if task_id:
            body = TaskResponse.of(service.read_task(actor, task_id)).model_dump_json(by_alias=True)
            return {"statusCode": 200, "body": body}
        page = service.list_tasks(actor, unfiltered, page=1, page_size=LIST_ITEMS, cursor=None)
        return {"statusCode": 200, "body": page.model_dump_json(by_alias=True)}

    return handler


def _decorated(handler: Handler) -> Handler:
    """`handler` inside the logger, tracer and metrics decorators (and metric) both handlers wear."""
    from aws_lambda_powertools.logging import correlation_paths

    from agent_tasks.observability import logger, metrics, tracer

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def decorated(event: dict[str, Any], context: Any) -> dict[str, Any]:
        response = handler(event, context)
        metrics.add_metric(name="ApiRequests", unit="Count", value=1)
        return response

    return decorated


def _seconds_for(handler: Handler, event: dict[str, Any], count: int, expected: int) -> tuple[float, float]:
    """(CPU, wall) seconds for `count` calls; CPU time is the figure (see bench_env.Stopwatch)."""
    events = [copy.deepcopy(event) for _ in range(count)]
    context = bench_env.Context("api")
    status = handler(copy.deepcopy(event), context)["statusCode"]
    if status != expected:
        raise RuntimeError(f"expected {expected}, got {status}")
    cpu, wall = time.process_time(), time.perf_counter()
    for each in events:
        handler(each, context)
    return time.process_time() - cpu, time.perf_counter() - wall


def measure(requests: int = 2000) -> dict[str, Any]:
    bench_env.apply_environment()
    from agent_tasks_local.lambdas import load_function_module

    bench_env.freeze_bench_heap()
    from agent_tasks.models.tasks import TaskResponse  # noqa: F401 - imports before any timing
    from agent_tasks.store.dynamo import serialize
    from agent_tasks.store.tasks import to_item
    from tests.bench import bench_peer
    from tests.support.api_calls import valid_task

    tasks = [_stored_task(i) for i in range(LIST_ITEMS)]
    _stub_dynamodb(
        {
            "TransactWriteItems": {},
            "GetItem": {"Item": serialize(to_item(tasks[0]))},
            "Query": {"Items": [serialize(to_item(t)) for t in tasks], "Count": len(tasks)},
        }
    )
    handlers: dict[str, Handler] = {
        "api": load_function_module(bench_env.API_DIR, "app", "bench_lambda_api").lambda_handler,
        "peer": bench_peer.lambda_handler,
        "peer_async": bench_peer.async_routes_handler(),
        "service_alone": _service_alone(),
        "service_decorated": _decorated(_service_alone()),
    }
    operations = {
        "create": (bench_env.task_event("POST", "/api/v1/tasks", body=valid_task()), 201),
        "get": (bench_env.task_event("GET", f"/api/v1/tasks/{tasks[0].id}"), 200),
        "list": (bench_env.task_event("GET", "/api/v1/tasks"), 200),
    }
    per_round = requests // ROUNDS
    rounds: dict[tuple[str, str], list[float]] = {(h, o): [] for h in handlers for o in operations}
    wall: dict[tuple[str, str], list[float]] = {(h, o): [] for h in handlers for o in operations}
    with _stdout_discarded():
        for _ in range(ROUNDS):  # interleaved, so a noisy neighbour hits every figure alike
            for name, handler in handlers.items():
                for operation, (event, expected) in operations.items():
                    cpu, elapsed = _seconds_for(handler, event, per_round, expected)
                    rounds[(name, operation)].append(cpu * 1e6 / per_round)
                    wall[(name, operation)].append(elapsed * 1e6 / per_round)
    result: dict[str, Any] = {"requests": per_round * ROUNDS, "rounds": ROUNDS, "list_items": LIST_ITEMS}
    for (name, operation), samples in rounds.items():
        result.setdefault(name, {})[operation] = {
            "us_per_request": round(statistics.median(samples), 1),
            "min": round(min(samples), 1),
            "max": round(max(samples), 1),
            "wall_us_per_request": round(statistics.median(wall[(name, operation)]), 1),
        }
    result["api_time_shares"] = _time_shares(handlers["api"], operations)
    return result


# Inclusive shares of the API handler's time (they overlap: `TaskResponse.of` calls the template check).
HOT_SPOTS = {
    "template check (agent_tasks.templates.validate_template)": (
        "agent_tasks/templates.py",
        "validate_template",
    ),
    "item to Task (store.tasks.from_item)": ("agent_tasks/store/tasks.py", "from_item"),
    "Task to answer (TaskResponse.of)": ("agent_tasks/models/tasks.py", "of"),
    "botocore call, stubbed (_make_api_call)": ("botocore/client.py", "_make_api_call"),
}


def _time_shares(handler: Handler, operations: dict[str, tuple[dict[str, Any], int]]) -> dict[str, Any]:
    """Where the API handler's time goes, per operation, from cProfile (which slows everything alike)."""
    import cProfile
    import pstats

    shares: dict[str, Any] = {}
    context = bench_env.Context("api")
    for operation, (event, _) in operations.items():
        events = [copy.deepcopy(event) for _ in range(100)]
        profile = cProfile.Profile()
        with _stdout_discarded():
            profile.enable()
            for each in events:
                handler(each, context)
            profile.disable()
        stats = pstats.Stats(profile)
        total = stats.total_tt  # type: ignore[attr-defined]
        raw = stats.stats  # type: ignore[attr-defined]
        by_package: dict[str, float] = {}
        for (path, _, name), figures in raw.items():
            package = _package(path, name)
            by_package[package] = by_package.get(package, 0.0) + figures[2]
        shares[operation] = {
            "functions": {
                label: round(
                    100
                    * sum(v[3] for (path, _, name), v in raw.items() if name == func and path.endswith(file))
                    / total,
                    1,
                )
                for label, (file, func) in HOT_SPOTS.items()
            },
            "own_time_by_package": {
                package: round(100 * seconds / total, 1)
                for package, seconds in sorted(by_package.items(), key=lambda kv: kv[1], reverse=True)[:8]
            },
        }
    return shares


def _package(path: str, name: str) -> str:
    """Who owns a profiled function: a site-packages distribution, our code, or the standard library."""
    if path == "~":  # a builtin: name it by the extension module in its description, if any
        for package in ("pydantic_core", "json", "jinja2"):
            if package in name:
                return package
        return "builtins"
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0]
    if "/layers/core/agent_tasks/" in path:
        return "agent_tasks"
    if "/functions/" in path:
        return "functions/api"
    return "stdlib"


def run(requests: int = 2000) -> dict[str, Any]:
    result: dict[str, Any] = bench_env.run_child(__name__, str(requests), timeout=400)
    return result


if __name__ == "__main__":
    (count,) = bench_env.child_args(sys.argv[1:])
    bench_env.write_result(sys.argv, measure(int(count)))
