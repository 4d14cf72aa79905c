"""Scheduler tick cost against the number of stored tasks, against an in-process moto table.

The tick (agent_tasks.services.scheduler.tick) should read only the due slice of the sparse due
index, so its DynamoDB calls and items read must not grow with the tasks that are not due. For
each table size: one tick with a few tasks due (what starting one costs) and one with none due
(the every-minute idle cost). Calls and items are the figures; CPU time is given with moto's own
work left out (moto's Query scans the whole table, so its time grows where DynamoDB's would not).

Run by hand: .venv/bin/python -m tests.bench.bench_scheduler --out /tmp/s.json
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.bench import bench_env

SIZES = (100, 1000, 10_000)
DUE_PER_TICK = 10
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _task(cron: str, next_run_at: datetime) -> Any:
    from agent_tasks.models.tasks import Task

    created = NOW - timedelta(days=1)
    return Task.model_validate(
        {
            "name": f"Bench scheduled {uuid.uuid4().hex[:10]}",
            "prompt_template": "Check the {{ topic }} dashboards.",
            "allowed_tools": ["read_file"],
            "sdk_options": {"max_turns": 5},
            "is_scheduled": True,
            "schedule_cron": cron,
            "schedule_timezone": "UTC",
            "id": str(uuid.uuid4()),
            "owner_id": bench_env.USER,
            "version": 1,
            "created_at": created,
            "updated_at": created,
            "next_run_at": next_run_at,
        }
    )


def _put(tasks: list[Any]) -> None:
    """Task items straight into the table, 25 a batch (setup, not measured)."""
    from agent_tasks import aws
    from agent_tasks.store.dynamo import serialize, table_name
    from agent_tasks.store.tasks import to_item

    client = aws.dynamodb()
    for start in range(0, len(tasks), 25):
        pending: dict[str, Any] = {
            table_name(): [{"PutRequest": {"Item": serialize(to_item(t))}} for t in tasks[start : start + 25]]
        }
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def _measure_tick(log: Any) -> dict[str, Any]:
    from agent_tasks.services.scheduler import tick

    log.take()
    moto_before, cpu_before = bench_env.MotoClock.cpu_ms, time.process_time()
    summary = tick(NOW, rule="bench")
    cpu_ms = (time.process_time() - cpu_before) * 1000
    moto_ms = bench_env.MotoClock.cpu_ms - moto_before
    calls = log.take()
    by_operation: dict[str, int] = {}
    for service, operation, _ in calls:
        key = operation if service == "dynamodb" else f"{service}.{operation}"
        by_operation[key] = by_operation.get(key, 0) + 1
    return {
        "due": summary.due,
        "started": summary.started,
        "errors": summary.errors,
        "items_read": summary.items_read,
        "dynamodb_calls": sum(1 for service, _, _ in calls if service == "dynamodb"),
        "calls": by_operation,
        "cpu_ms_without_moto": round(cpu_ms - moto_ms, 1),
        "moto_cpu_ms": round(moto_ms, 1),
    }


def measure() -> dict[str, Any]:
    bench_env.apply_environment()
    # The bench's one user keeps every run it starts (nothing ends them): past the per-user limit the
    # tick would queue them (issue 21), and this would measure the queue, not the tick.
    os.environ["MAX_CONCURRENT_RUNS_PER_USER"] = "1000"
    import boto3
    from moto import mock_aws

    from agent_tasks import aws
    from tests.bench.bench_calls import CallLog, _state_machine
    from tests.support.template import create_table

    results: dict[str, Any] = {"due_per_tick": DUE_PER_TICK, "sizes": {}}
    with mock_aws():
        bench_env.MotoClock.install()
        create_table(
            boto3.client("dynamodb", region_name=bench_env.REGION), bench_env.ENVIRONMENT["TABLE_NAME"]
        )
        _state_machine()
        log = CallLog()
        for service in ("dynamodb", "stepfunctions", "events", "s3"):
            client = getattr(aws, service)()
            client.meta.events.register(
                f"before-parameter-build.{client.meta.service_model.service_id.hyphenize()}",
                log.hook(service),
            )
        stored = 0
        for size in SIZES:
            idle = [_task("0 3 * * *", NOW + timedelta(hours=15)) for _ in range(size - stored)]
            due = [_task("*/5 * * * *", NOW) for _ in range(DUE_PER_TICK)]
            _put(idle + due)
            stored = size
            with_due = _measure_tick(log)
            if with_due["started"] != DUE_PER_TICK or with_due["errors"]:
                raise RuntimeError(f"tick with {DUE_PER_TICK} due started {with_due}")
            results["sizes"][str(size)] = {"with_due": with_due, "none_due": _measure_tick(log)}
            stored += DUE_PER_TICK
    return results


def check_against_baseline(result: dict[str, Any]) -> list[str]:
    """DynamoDB calls per tick above the baseline, at any table size (they must not grow with it)."""
    from tests.bench.bench_calls import BASELINE_PATH

    baseline = json.loads(BASELINE_PATH.read_text())["scheduler_tick_dynamodb_calls"]
    failures = []
    for size, ticks in result["sizes"].items():
        for kind, figures in ticks.items():
            allowed = baseline[kind]
            if figures["dynamodb_calls"] > allowed:
                failures.append(
                    f"scheduler tick ({kind}, {size} stored): {figures['dynamodb_calls']} DynamoDB calls, "
                    f"baseline {allowed}"
                )
    return failures


def run() -> dict[str, Any]:
    result: dict[str, Any] = bench_env.run_child(__name__, timeout=400)
    return result


if __name__ == "__main__":
    bench_env.write_result(sys.argv, measure())
