"""Past page 100 a walked list (tasks, a task's executions or reports) is followed by cursor: every
`_links` URL it answers can be asked, and a page past 100 without a cursor is a 422 naming it. The
walk test lowers the bound to 5 pages (`paging.MAX_WALKED_PAGE`) so its list stays short."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from agent_tasks.services import paging
from tests.support.api_calls import Api
from tests.support.executions import stored_task
from tests.support.fixtures import LambdaClient

WALKED = 5
TASKS = WALKED + 3


def _ask(alice: Api, link: str) -> tuple[int, Any]:
    parts = urlsplit(link)
    status, payload, _ = alice.call("GET", parts.path, query=dict(parse_qsl(parts.query)))
    return status, payload


def test_every_link_of_a_long_walk_can_be_followed(
    api: LambdaClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given alice's tasks, listed one a page, more pages of them than may be walked without a cursor
    monkeypatch.setattr(paging, "MAX_WALKED_PAGE", WALKED)
    alice = Api(api, "alice")
    for _ in range(TASKS):
        stored_task("alice")
    status, page = _ask(alice, "/api/v1/tasks?page_size=1")
    assert status == 200, page
    seen = 1
    # When she follows `next` to the end, asking each page's `self` and `prev` on the way
    while "next" in page["_links"]:
        status, page = _ask(alice, page["_links"]["next"])
        assert status == 200, (seen, page)
        seen += 1
        # Then the page's own link answers the same page
        status, again = _ask(alice, page["_links"]["self"])
        assert status == 200, (seen, again)
        assert [item["id"] for item in again["items"]] == [item["id"] for item in page["items"]]
        # And `prev` is offered only where it can be asked without a cursor
        if "prev" in page["_links"]:
            assert page["page"] - 1 <= WALKED
            assert _ask(alice, page["_links"]["prev"])[0] == 200
        else:
            assert page["page"] - 1 > WALKED
    assert (seen, page["page"]) == (TASKS, TASKS)


def test_a_page_past_100_without_a_cursor_is_a_422_naming_it(api: LambdaClient) -> None:
    alice = Api(api, "alice")
    task = stored_task("alice")
    for path in ("/api/v1/tasks", f"/api/v1/tasks/{task.id}/executions", f"/api/v1/tasks/{task.id}/reports"):
        status, payload, _ = alice.call("GET", path, query={"page": "101"})
        assert status == 422, (path, payload)
        assert payload["error"]["details"][0]["loc"] == ["query", "page"]
        assert alice.call("GET", path, query={"page": "100"})[0] == 200
