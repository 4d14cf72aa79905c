"""Property: whatever two users do, in whatever order, neither sees the other's private data."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.api_calls import Api, valid_task
from tests.support.fixtures import LambdaClient

USERS = ("ann", "ben")

actions = st.lists(
    st.tuples(
        st.sampled_from(USERS),
        st.sampled_from(["create", "create_public", "update", "delete", "get_other", "list"]),
        st.integers(min_value=0, max_value=5),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions)
def test_random_interleavings_never_leak_between_users(
    api: LambdaClient, steps: list[tuple[str, str, int]]
) -> None:
    # Given two users acting in a random order (names unique per run: the table outlives examples)
    import uuid

    run = uuid.uuid4().hex[:6]
    clients = {user: Api(api, f"{user}-{run}") for user in USERS}
    owned: dict[str, dict[str, dict[str, Any]]] = {user: {} for user in USERS}
    for user, action, pick in steps:
        me, other = clients[user], clients[USERS[1 - USERS.index(user)]]
        mine = list(owned[user])
        theirs = owned[USERS[1 - USERS.index(user)]]
        if action in {"create", "create_public"}:
            status, task, _ = me.call(
                "POST",
                "/api/v1/tasks",
                valid_task(name=f"t{len(mine)}-{pick}", is_public=action == "create_public"),
            )
            if status == 201:
                owned[user][task["id"]] = task
        elif action == "update" and mine:
            task_id = mine[pick % len(mine)]
            status, task, _ = me.call("PATCH", f"/api/v1/tasks/{task_id}", {"description": f"by {user}"})
            assert status == 200
            owned[user][task_id] = task
        elif action == "delete" and mine:
            task_id = mine[pick % len(mine)]
            assert me.call("DELETE", f"/api/v1/tasks/{task_id}")[0] == 204
            del owned[user][task_id]
        elif action == "get_other" and theirs:
            task_id = list(theirs)[pick % len(theirs)]
            status, _, _ = me.call("GET", f"/api/v1/tasks/{task_id}")
            # When one user reads the other's task / Then only a public one is visible
            assert status == (200 if theirs[task_id]["is_public"] else 404)
            assert me.call("PATCH", f"/api/v1/tasks/{task_id}", {"description": "x"})[0] in {403, 404}
        # Then every list holds exactly the caller's own live tasks, and its count agrees
        _, page, _ = me.call("GET", "/api/v1/tasks", query={"page_size": "100"})
        assert {t["id"] for t in page["items"]} == set(owned[user])
        assert page["total"] == len(owned[user])
        assert all(t["owner_id"] == me.user for t in page["items"])
        _, other_page, _ = other.call("GET", "/api/v1/tasks", query={"page_size": "100"})
        assert not {t["id"] for t in other_page["items"]} & set(owned[user])
