"""Items read per page of GET /tasks against the tasks one user has stored, against in-process moto.

Lists are paged by the store (store/tasks.py), so a page must read about a page of items however
many tasks the user has: 100, 1,000 and 10,000 stored, the first and the second page (by cursor),
without a filter and with a tag filter (one task in four tagged). Items are counted as DynamoDB
would bill them: a Query's ScannedCount, a GetItem's item, a BatchGetItem's answers.

Run by hand: .venv/bin/python -m tests.bench.bench_lists --out /tmp/lists.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

from tests.bench import bench_env

SIZES = (100, 1000, 10_000)
PAGE_SIZE = 20
FILTERS: dict[str, dict[str, str]] = {"no filter": {}, "tags=ops": {"tags": "ops"}}


def measure() -> dict[str, Any]:
    bench_env.apply_environment()
    import boto3
    from moto import mock_aws

    from agent_tasks_local.lambdas import load_function_module
    from tests.support.reads import counting_reads
    from tests.support.task_lists import put_tasks
    from tests.support.template import create_table

    results: dict[str, Any] = {"page_size": PAGE_SIZE, "sizes": {}}
    with mock_aws():
        create_table(
            boto3.client("dynamodb", region_name=bench_env.REGION), bench_env.ENVIRONMENT["TABLE_NAME"]
        )
        module = load_function_module(bench_env.API_DIR, "app", "bench_lambda_api_lists")

        def page(query: dict[str, str]) -> tuple[dict[str, Any], int, int]:
            event = bench_env.task_event("GET", "/api/v1/tasks", query={**query, "page_size": str(PAGE_SIZE)})
            with counting_reads() as counter:
                response = module.lambda_handler(event, bench_env.Context("api"))
            if response["statusCode"] != 200:
                raise RuntimeError(f"GET /tasks: {response['statusCode']} {response.get('body')}")
            return json.loads(response["body"]), counter.items, counter.calls

        stored = 0
        for size in SIZES:
            put_tasks(bench_env.USER, size - stored, first=stored, tag_every=4)
            stored = size
            figures: dict[str, Any] = {}
            for name, query in FILTERS.items():
                first, first_items, first_calls = page(query)
                second, second_items, second_calls = page({**query, "cursor": first["next_cursor"]})
                figures[name] = {
                    "first_page_items_read": first_items,
                    "first_page_calls": first_calls,
                    "second_page_items_read": second_items,
                    "second_page_calls": second_calls,
                    "answered": len(first["items"]) + len(second["items"]),
                    "total": first["total"],
                }
            results["sizes"][str(size)] = figures
    return results


def check_flat(result: dict[str, Any]) -> list[str]:
    """Items read per page must not grow with the tasks stored."""
    failures = []
    for name in FILTERS:
        reads = {size: figures[name]["first_page_items_read"] for size, figures in result["sizes"].items()}
        if len(set(reads.values())) != 1:
            failures.append(f"GET /tasks ({name}): items read per page grew with tasks stored: {reads}")
    return failures


def run() -> dict[str, Any]:
    result: dict[str, Any] = bench_env.run_child(__name__, timeout=900)
    return result


if __name__ == "__main__":
    bench_env.write_result(sys.argv, measure())
