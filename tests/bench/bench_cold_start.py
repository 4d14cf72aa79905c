"""API cold start: import the function and answer its first two requests, in fresh processes.

Each child first starts moto in-process and creates the template's table (untimed: moto's own
import and setup would dwarf everything), then times only our side: importing the handler
module and answering POST /tasks and GET /tasks/{id}. moto has by then imported boto3 and
botocore, so those imports are not in the figure; the bare-process floor below shows their cost.
moto answers requests in this same process: the CPU time spent inside its request handler is
measured and reported apart (`*_moto_ms`), and `total_without_moto_ms` leaves it out.

Variants: `api` (functions/api/app.py), `peer` (FastAPI + Mangum, tests/bench/bench_peer.py),
`floor` (the same moto-prepared process, creating one DynamoDB client the way agent_tasks.aws
does), `bare_floor` (a bare process: import boto3 and create a DynamoDB client, no moto).

Run one child by hand: .venv/bin/python -m tests.bench.bench_cold_start --out /tmp/r.json api
"""

from __future__ import annotations

import json
import sys
from typing import Any

from tests.bench import bench_env

VARIANTS = ("api", "peer", "floor")
_AWS_MODULES = frozenset({"boto3", "botocore", "moto"})
TIMINGS = [
    *(f"{step}{clock}_ms" for step in ("import", "create", "get", "total") for clock in ("", "_wall")),
    "create_moto_ms",
    "get_moto_ms",
    "create_own_ms",
    "get_own_ms",
    "total_without_moto_ms",
]


def _prepare_table() -> None:
    import boto3
    from moto import mock_aws

    mock_aws().start()  # stays on for the life of this short process
    definition = json.loads(sys.stdin.read())
    client = boto3.client("dynamodb", region_name=bench_env.REGION)
    client.create_table(TableName=bench_env.ENVIRONMENT["TABLE_NAME"], **definition["table"])
    client.update_time_to_live(
        TableName=bench_env.ENVIRONMENT["TABLE_NAME"], TimeToLiveSpecification=definition["ttl"]
    )


def _two_requests(handler: Any, timings: dict[str, float]) -> list[int]:
    from tests.support.api_calls import valid_task

    create = bench_env.task_event("POST", "/api/v1/tasks", body=valid_task())
    watch, moto_before = bench_env.Stopwatch(), bench_env.MotoClock.cpu_ms
    created = handler(create, bench_env.Context("api"))
    watch.record(timings, "create")
    timings["create_moto_ms"] = bench_env.MotoClock.cpu_ms - moto_before
    timings["create_own_ms"] = timings["create_ms"] - timings["create_moto_ms"]
    task_id = json.loads(created["body"])["id"]
    get = bench_env.task_event("GET", f"/api/v1/tasks/{task_id}")
    watch, moto_before = bench_env.Stopwatch(), bench_env.MotoClock.cpu_ms
    fetched = handler(get, bench_env.Context("api"))
    watch.record(timings, "get")
    timings["get_moto_ms"] = bench_env.MotoClock.cpu_ms - moto_before
    timings["get_own_ms"] = timings["get_ms"] - timings["get_moto_ms"]
    return [created["statusCode"], fetched["statusCode"]]


def _child(variant: str) -> dict[str, Any]:
    bench_env.apply_environment()
    import tests.support.api_calls  # noqa: F401 - event helpers (stdlib only) are not what we measure

    if variant == "bare_floor":
        # Nothing before the timer may bring boto3 in: the local function loader does (with the
        # local cloud's IAM and moto's Step Functions parser), and once did here unnoticed, so the
        # "bare" floor timed a client alone in a process already holding boto3 and moto.
        if _AWS_MODULES & set(sys.modules):
            raise RuntimeError(
                f"the bare floor's process already holds {sorted(_AWS_MODULES & set(sys.modules))}"
            )
    else:
        _prepare_table()
        bench_env.MotoClock.install()
        from agent_tasks_local.lambdas import load_function_module  # the loader, not the load
    bench_env.freeze_bench_heap()  # for every variant alike
    before = set(sys.modules)
    timings: dict[str, float] = {}
    statuses: list[int] = []
    watch = bench_env.Stopwatch()
    if variant in ("floor", "bare_floor"):
        import boto3
        from botocore.config import Config

        boto3.session.Session().client("dynamodb", region_name=bench_env.REGION, config=Config())
        watch.record(timings, "import")
    elif variant == "api":
        module = load_function_module(bench_env.API_DIR, "app", "bench_lambda_api")
        watch.record(timings, "import")
        statuses = _two_requests(module.lambda_handler, timings)
    elif variant == "peer":
        from tests.bench import bench_peer

        watch.record(timings, "import")
        statuses = _two_requests(bench_peer.lambda_handler, timings)
    else:
        raise ValueError(variant)
    watch.record(timings, "total")
    moto_ms = timings.get("create_moto_ms", 0.0) + timings.get("get_moto_ms", 0.0)
    timings["total_without_moto_ms"] = timings["total_ms"] - moto_ms
    return {
        **timings,
        "statuses": statuses,
        "modules_imported": len(set(sys.modules) - before),
        "anthropic_imported": "anthropic" in sys.modules,
    }


def _table_definition() -> str:
    from tests.support.template import table_definition, template

    ttl = template()["Resources"]["Table"]["Properties"]["TimeToLiveSpecification"]
    return json.dumps({"table": table_definition(), "ttl": ttl})


def run(processes: int = 7) -> dict[str, Any]:
    """`processes` fresh children per variant, interleaved so drift hits every variant alike."""
    definition = _table_definition()
    samples: dict[str, list[dict[str, Any]]] = {v: [] for v in (*VARIANTS, "bare_floor")}

    def one(variant: str) -> dict[str, Any]:
        result: dict[str, Any] = bench_env.run_child(__name__, variant, stdin=definition, timeout=120)
        return result

    for variant in samples:  # warm-up: writes every .pyc, so no child pays for compiling
        one(variant)
    for _ in range(processes):
        for variant in samples:
            samples[variant].append(one(variant))
    result: dict[str, Any] = {"processes": processes}
    for variant, runs in samples.items():
        for run_ in runs:
            if variant in ("api", "peer") and run_["statuses"] != [201, 200]:
                raise RuntimeError(f"{variant} answered {run_['statuses']}, not [201, 200]")
        result[variant] = {
            key: bench_env.summary_ms([r[key] for r in runs]) for key in TIMINGS if key in runs[0]
        }
        result[variant]["modules_imported"] = max(r["modules_imported"] for r in runs)
        result[variant]["anthropic_imported"] = any(r["anthropic_imported"] for r in runs)
    return result


if __name__ == "__main__":
    (chosen,) = bench_env.child_args(sys.argv[1:])
    bench_env.write_result(sys.argv, _child(chosen))
