"""GET /task-executions/{id}/deliveries pages by cursor: an execution with more deliveries than one page
(and than the 200 the list once stopped at) answers every one exactly once, oldest first."""

from __future__ import annotations

import pytest

from tests.support.api_calls import Api
from tests.support.deliveries import earlier_deliveries
from tests.support.executions import pending_execution, stored_task
from tests.support.fixtures import LambdaClient

COUNT = 250


def _execution_with_deliveries(owner: str, count: int) -> tuple[str, list[str]]:
    """An execution of `owner`'s with `count` delivery records; their event ids, oldest first."""
    execution_id = pending_execution(stored_task(owner))
    return execution_id, earlier_deliveries(execution_id, count)


def test_deliveries_page_by_cursor_each_exactly_once_oldest_first(
    api: LambdaClient, aws: dict[str, str]
) -> None:
    # Given an execution of alice's with 250 deliveries
    execution_id, events = _execution_with_deliveries("alice", COUNT)
    alice = Api(api, "alice")
    path = f"/api/v1/task-executions/{execution_id}/deliveries"
    # When she asks for the first page (the default size) and follows `next_cursor` with pages of 100
    status, first, _ = alice.call("GET", path)
    assert status == 200, first
    assert (first["page"], first["page_size"], first["total"]) == (1, 20, COUNT)
    assert [d["event_id"] for d in first["items"]] == events[:20]
    seen: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        query = {"page_size": "100", **({"cursor": cursor} if cursor else {})}
        status, body, _ = alice.call("GET", path, query=query)
        assert status == 200, body
        pages += 1
        seen.extend(d["event_id"] for d in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    # Then every delivery came exactly once, oldest first, over three pages
    assert seen == events
    assert pages == 3


@pytest.mark.parametrize(
    ("query", "status", "loc"),
    [
        ({"cursor": "not-a-cursor"}, 400, ["query", "cursor"]),
        ({"page_size": "0"}, 422, ["query", "page_size"]),
        ({"page_size": "101"}, 422, ["query", "page_size"]),
    ],
)
def test_a_bad_page_of_deliveries_is_refused_naming_the_field(
    api: LambdaClient, aws: dict[str, str], query: dict[str, str], status: int, loc: list[str]
) -> None:
    # Given an execution of alice's with a delivery
    execution_id, _ = _execution_with_deliveries("alice", 1)
    # When she asks for a bad page / Then the answer names the field
    answer, body, _ = Api(api, "alice").call(
        "GET", f"/api/v1/task-executions/{execution_id}/deliveries", query=query
    )
    assert answer == status, body
    assert body["error"]["details"][0]["loc"] == loc


def test_a_cursor_of_another_execution_is_refused(api: LambdaClient, aws: dict[str, str]) -> None:
    # Given two executions of alice's, the first with more than a page of deliveries
    first, _ = _execution_with_deliveries("alice", 30)
    second, _ = _execution_with_deliveries("alice", 1)
    alice = Api(api, "alice")
    _, body, _ = alice.call("GET", f"/api/v1/task-executions/{first}/deliveries")
    # When the first one's cursor is used on the second / Then it is a 400 naming the cursor
    status, payload, _ = alice.call(
        "GET", f"/api/v1/task-executions/{second}/deliveries", query={"cursor": body["next_cursor"]}
    )
    assert status == 400, payload
    assert payload["error"]["details"][0]["loc"] == ["query", "cursor"]


def test_another_users_deliveries_answer_404(api: LambdaClient, aws: dict[str, str]) -> None:
    # Given alice's execution with a delivery
    execution_id, _ = _execution_with_deliveries("alice", 1)
    # When bob lists them / Then it is a 404
    status, _, _ = Api(api, "bob").call("GET", f"/api/v1/task-executions/{execution_id}/deliveries")
    assert status == 404
