"""A list's `total` is counted up to a bound: a task on a minutely schedule keeps ~130,000 executions at
90 days' retention, and counting them all read every one of them (1 MB a call) on each page asked.
Below the bound the total is exact; above it the answer says it is a lower bound. A status filter
that matches few runs reads a bounded number of them per request.

The API tests shrink the bounds (`small_bounds`: 40 counted, 100 read by a filtered request, 25 a
query) so a history past them stays small; the count itself is tested at the store's level."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from agent_tasks.models.common import utc_now
from agent_tasks.models.tasks import Task
from agent_tasks.services import execution_queries
from agent_tasks.store import executions as execution_store
from agent_tasks.store.dynamo import count, serialize, write_batch
from tests.support.api_calls import Api
from tests.support.executions import execution_of, stored_task
from tests.support.fixtures import LambdaClient
from tests.support.reads import counting_reads

# What a typical stored run weighs: a prompt and an answer of about 1.5 KB each (~7 KB an item).
FILLER = "x" * 1500


def _store_runs(
    task: Task, how_many: int, *, status: str = "completed", ago: timedelta = timedelta()
) -> None:
    """`how_many` finished runs of `task`, the newest `ago` ago, one a second before it, written directly
    (the scheduler's history, without the runs)."""
    now = utc_now() - ago
    items = [
        execution_store.to_item(
            execution_of(
                task,
                trigger_type="scheduled",
                rendered_prompt=FILLER,
                status=status,
                created_at=now - timedelta(seconds=index),
                result_data={"final_text": FILLER},
            )
        )
        for index in range(how_many)
    ]
    write_batch([serialize(item) for item in items])


COUNTED_AT_MOST = 40
FILTERED_BUDGET = 100


@pytest.fixture
def small_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execution_queries, "LIST_TOTAL_AT_MOST", COUNTED_AT_MOST)
    monkeypatch.setattr(execution_queries, "FILTERED_READ_BUDGET", FILTERED_BUDGET)
    monkeypatch.setattr(execution_queries, "FILTERED_READ_STEP", 25)


def _first_page(api: LambdaClient, task: Task, query: dict[str, str] | None = None) -> dict[str, Any]:
    status, payload, _ = Api(api, task.owner_id).call(
        "GET", f"/api/v1/tasks/{task.id}/executions", query=query or {}
    )
    assert status == 200, payload
    return payload  # type: ignore[no-any-return]


@pytest.mark.usefixtures("small_bounds")
def test_a_long_history_is_counted_up_to_the_bound(api: LambdaClient) -> None:
    # Given a task with more runs stored than the bound
    task = stored_task("alice")
    _store_runs(task, 3 * COUNTED_AT_MOST)
    # When its owner asks for the first page of its executions
    with counting_reads() as reads:
        page = _first_page(api, task)
    # Then the page holds 20, and the total says "at least" what was counted, no more than the bound + 1
    assert len(page["items"]) == 20
    assert page["total_exact"] is False
    assert COUNTED_AT_MOST <= page["total"] <= COUNTED_AT_MOST + 1
    # And the whole answer read about the page and the bound, not the whole history
    assert reads.items <= 20 + 1 + COUNTED_AT_MOST + 1 + 1


def test_a_short_history_has_an_exact_total(api: LambdaClient) -> None:
    task = stored_task("alice")
    _store_runs(task, 25)
    page = _first_page(api, task)
    assert (page["total"], page["total_exact"]) == (25, True)
    filtered = _first_page(api, task, {"status": "failed"})
    assert (filtered["total"], filtered["total_exact"]) == (0, True)


@pytest.mark.usefixtures("small_bounds")
def test_a_filtered_long_history_counts_the_newest_and_never_less_than_the_page(api: LambdaClient) -> None:
    # Given more completed runs than the bound, and 5 failed ones newer than all of them
    task = stored_task("alice")
    _store_runs(task, 2 * COUNTED_AT_MOST, ago=timedelta(hours=1))
    _store_runs(task, 5, status="failed")
    # When the failed ones are listed
    page = _first_page(api, task, {"status": "failed"})
    # Then the page holds the 5, and the total (counted over the newest items, as the list reads) says 5
    assert len(page["items"]) == 5
    assert page["total"] == 5
    assert page["total_exact"] is False  # more runs lie past the bound; none of them was looked at


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("stored", [9, 10, 11, 12, 30])
def test_counting_is_exact_up_to_the_bound_and_a_true_lower_bound_past_it(stored: int) -> None:
    # Given `stored` runs of a task
    task = stored_task("alice")
    _store_runs(task, stored)
    # When they are counted with a bound of 10
    counted = count(("GSI1PK", f"TASK#{task.id}"), "EXEC#", index="GSI1", at_most=10)
    # Then up to the bound the count is exact
    if stored <= 10:
        assert (counted.value, counted.exact) == (stored, True)
        return
    # And past it, it is never more than there are, says "at least" unless it saw the end, and stops
    # after one item past the bound (which tells "exactly 10" from "more than 10")
    assert 11 <= counted.value <= stored
    assert counted.exact is False or counted.value == stored
    if stored > 11:
        assert (counted.value, counted.exact) == (11, False)


@pytest.mark.usefixtures("small_bounds")
def test_a_filter_that_matches_nothing_reads_a_bounded_number_of_runs(api: LambdaClient) -> None:
    # Given completed runs past the filtered budget, and an old failed one under them
    task = stored_task("alice")
    _store_runs(task, 1, status="failed", ago=timedelta(days=1))
    _store_runs(task, 3 * FILTERED_BUDGET)
    # When the failed ones are listed
    with counting_reads() as reads:
        page = _first_page(api, task, {"status": "failed"})
    # Then the answer read at most the filtered budget and the bounded count, in few queries, and says
    # where to go on: the page is short (empty), with a cursor
    assert page["items"] == []
    assert page["next_cursor"] is not None
    assert reads.items <= FILTERED_BUDGET + COUNTED_AT_MOST + 2
    assert reads.calls <= 1 + FILTERED_BUDGET // 25 + 2
    # And following the cursors finds the failed run in the end
    found: list[dict[str, Any]] = []
    cursor = page["next_cursor"]
    while cursor is not None:
        page = _first_page(api, task, {"status": "failed", "cursor": cursor})
        found += page["items"]
        cursor = page["next_cursor"]
    assert [item["status"] for item in found] == ["failed"]
