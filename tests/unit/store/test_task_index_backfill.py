"""The one-off backfill gives tasks stored before the list indexes their lists, counts and model uses."""

from __future__ import annotations

from typing import Any

from agent_tasks import aws
from agent_tasks.models.tasks import TaskFilters
from agent_tasks.store import task_index_backfill
from agent_tasks.store import tasks as task_store
from agent_tasks.store.dynamo import deserialize, serialize, table_name, write_batch
from tests.support.api_calls import Api
from tests.support.fixtures import LambdaClient

OLD_STYLE = ("TASKLIST#", "MODELUSE#")


def _as_stored_before_the_indexes() -> None:
    """Turn the table into what the version before the indexes left: task items without GSI1 keys
    or derived fields, and no index, model-use or counts items."""
    client = aws.dynamodb()
    items = [
        deserialize(i)
        for page in client.get_paginator("scan").paginate(TableName=table_name())
        for i in page["Items"]
    ]
    gone = [
        {"PK": item["PK"], "SK": item["SK"]}
        for item in items
        if item["PK"].startswith(OLD_STYLE) or item["SK"] == "TASKCOUNTS"
    ]
    write_batch([serialize(key) for key in gone], delete=True)
    old_tasks = [
        {k: v for k, v in item.items() if k not in ("GSI1PK", "GSI1SK", "template_variables")}
        for item in items
        if item["SK"] == "TASK"
    ]
    write_batch([serialize(item) for item in old_tasks])


def _listed(owner: str, **filters: Any) -> tuple[list[str], int]:
    page = task_store.list_page(owner, TaskFilters(**filters), size=100, start_key=None)
    return [task.name for task in page.tasks], task_store.count_matching(owner, TaskFilters(**filters))


def test_a_backfill_run_twice_lists_and_counts_tasks_stored_before_the_indexes(api: LambdaClient) -> None:
    # Given tasks of two users, one deleted, one with a fallback model, stored before the indexes existed
    alice, bob = Api(api, "alice"), Api(api, "bob")
    alice.create(name="a1", tags=["ops"])
    alice.create(name="a2", tags=["ops", "web"], sdk_options={"model": "claude-haiku-4-5"})
    gone = alice.create(name="a3", tags=["ops"])
    assert alice.call("DELETE", f"/api/v1/tasks/{gone['id']}")[0] == 204
    bob.create(name="b1", sdk_options={"fallback_model": "claude-haiku-4-5"})
    expected = {
        "all": _listed("alice"),
        "ops": _listed("alice", tags=["ops"]),
        "web": _listed("alice", tags=["web"]),
        "bob": _listed("bob"),
    }
    using_haiku = sorted(task.name for task in task_store.live_tasks_using({"claude-haiku-4-5"}))
    assert expected["ops"] == (["a2", "a1"], 2)
    assert using_haiku == ["a2", "b1"]
    _as_stored_before_the_indexes()
    assert _listed("alice") == ([], 0)
    assert task_store.live_tasks_using({"claude-haiku-4-5"}) == []

    # When the backfill runs, stopping after its first page (state saved), then goes on from the
    # saved state, and then runs again from the start
    saved: list[dict[str, Any]] = []
    task_index_backfill.run(save=lambda state: saved.append(state.to_json()), page_size=1)
    resumed = task_index_backfill.run(task_index_backfill.BackfillState.from_json(saved[0]))
    again = task_index_backfill.run()

    # Then every list, filtered list, total and model lookup is what it was before, both times
    assert resumed.phase == again.phase == "done"
    assert sorted(again.counted) == ["alice", "bob"]
    assert again.tasks_written == 3
    assert {
        "all": _listed("alice"),
        "ops": _listed("alice", tags=["ops"]),
        "web": _listed("alice", tags=["web"]),
        "bob": _listed("bob"),
    } == expected
    assert _listed("alice", is_active=True) == (["a2", "a1"], 2)
    assert sorted(task.name for task in task_store.live_tasks_using({"claude-haiku-4-5"})) == using_haiku
