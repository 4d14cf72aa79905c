"""Task lists are paged by the store: a page reads about a page of items, whatever the user stores."""

from __future__ import annotations

import pytest

from tests.support.api_calls import Api
from tests.support.fixtures import LambdaClient
from tests.support.reads import counting_reads
from tests.support.task_lists import put_tasks

PAGE = 5


@pytest.fixture
def alice(api: LambdaClient) -> Api:
    return Api(api, "alice")


def _reads_for_pages(alice: Api, query: dict[str, str]) -> tuple[list[int], dict[str, object]]:
    """Items read for the first two pages of a list, and the first page."""
    reads = []
    with counting_reads() as counter:
        _, first, _ = alice.call("GET", "/api/v1/tasks", query={**query, "page_size": str(PAGE)})
    reads.append(counter.items)
    with counting_reads() as counter:
        cursor = {"cursor": first["next_cursor"]}
        alice.call("GET", "/api/v1/tasks", query={**query, "page_size": str(PAGE), **cursor})
    reads.append(counter.items)
    return reads, first


@pytest.mark.parametrize("query", [{}, {"tags": "ops"}, {"is_active": "true"}, {"is_scheduled": "false"}])
def test_a_page_reads_about_a_page_however_many_tasks_are_stored(
    alice: Api, aws: dict[str, str], query: dict[str, str]
) -> None:
    # Given 24 tasks, then 240 (every other one tagged ops)
    put_tasks("alice", 24, tag_every=2)
    small, first = _reads_for_pages(alice, query)
    assert len(first["items"]) == PAGE
    put_tasks("alice", 216, first=24, tag_every=2)
    # When the first two pages are read, with and without a filter
    large, first = _reads_for_pages(alice, query)
    # Then the items read are the same at both sizes, and about a page (an index entry and its task
    # per item, one to look ahead, the counts item)
    assert large == small
    assert max(large) <= 2 * (PAGE + 1) + 1
    assert first["total"] == (120 if query.get("tags") else 240)


def test_tasks_created_during_a_walk_are_neither_repeated_nor_skipped(alice: Api) -> None:
    # Given five tasks, and the first page of two
    created = [alice.create(name=f"walk {i}")["id"] for i in range(5)]
    _, page, _ = alice.call("GET", "/api/v1/tasks", query={"page_size": "2"})
    seen = [t["id"] for t in page["items"]]
    # When two more tasks are created while the walk goes on
    alice.create(name="new 1")
    alice.create(name="new 2")
    while page["next_cursor"]:
        _, page, _ = alice.call(
            "GET", "/api/v1/tasks", query={"page_size": "2", "cursor": page["next_cursor"]}
        )
        seen += [t["id"] for t in page["items"]]
    # Then the walk saw every task that was there once, newest first
    assert seen == list(reversed(created))


def _ids(alice: Api, **query: str) -> tuple[set[str], int]:
    _, page, _ = alice.call("GET", "/api/v1/tasks", query=query)
    return {t["id"] for t in page["items"]}, page["total"]


def test_the_list_indexes_follow_every_change(alice: Api) -> None:
    # Given two tasks
    a = alice.create(name="a", tags=["ops", "prod"])
    b = alice.create(name="b", tags=["ops"], is_active=False)
    assert _ids(alice, tags="ops") == ({a["id"], b["id"]}, 2)
    # When a's tags and b's state change
    alice.call("PATCH", f"/api/v1/tasks/{a['id']}", {"tags": ["prod", "web"]})
    alice.call("PATCH", f"/api/v1/tasks/{b['id']}", {"is_active": True})
    # Then the filtered lists and their totals follow
    assert _ids(alice, tags="ops") == ({b["id"]}, 1)
    assert _ids(alice, tags="web") == ({a["id"]}, 1)
    assert _ids(alice, is_active="true") == ({a["id"], b["id"]}, 2)
    assert _ids(alice, is_active="false") == (set(), 0)
    assert _ids(alice, tags="prod,web", is_active="true") == ({a["id"]}, 1)
    # And a deleted task leaves every list, and comes back with a restore
    alice.call("DELETE", f"/api/v1/tasks/{a['id']}")
    assert _ids(alice) == ({b["id"]}, 1)
    assert _ids(alice, tags="web") == (set(), 0)
    alice.call("POST", f"/api/v1/tasks/{a['id']}/restore")
    assert _ids(alice, tags="web") == ({a["id"]}, 1)
    assert _ids(alice) == ({a["id"], b["id"]}, 2)


def test_replacing_fifty_tags_at_once_keeps_the_lists_right(alice: Api) -> None:
    # Given a task with 50 tags (more index changes than one transaction holds when all are replaced)
    task = alice.create(tags=[f"old{i}" for i in range(50)])
    # When all 50 are replaced in one PATCH
    status, _, _ = alice.call(
        "PATCH", f"/api/v1/tasks/{task['id']}", {"tags": [f"new{i}" for i in range(50)]}
    )
    # Then the new tags list it and the old ones do not
    assert status == 200
    assert _ids(alice, tags="new7") == ({task["id"]}, 1)
    assert _ids(alice, tags="old7") == (set(), 0)
