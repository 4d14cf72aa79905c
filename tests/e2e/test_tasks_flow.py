"""The analysis's "Recommended Testing Sequence": phase 1 and edge cases 12-15, over HTTP."""

from __future__ import annotations

import pytest

from tests.support.api_calls import valid_task
from tests.support.dev_server import DevServer

pytestmark = pytest.mark.e2e


def test_phase_1_create_get_list_update_delete(dev_server: DevServer) -> None:
    with dev_server.client("e2e-phase1") as client:
        # 1. Create task (no scheduling, no reports)
        created = client.post("/api/v1/tasks", json=valid_task())
        assert created.status_code == 201
        task = created.json()
        assert created.headers["Location"] == f"/api/v1/tasks/{task['id']}"
        # 2. Get task by ID
        fetched = client.get(f"/api/v1/tasks/{task['id']}")
        assert fetched.status_code == 200
        assert fetched.json()["_links"]["self"] == f"/api/v1/tasks/{task['id']}"
        # 3. List tasks
        listed = client.get("/api/v1/tasks").json()
        assert [t["id"] for t in listed["items"]] == [task["id"]]
        # 4. Update task
        etag = fetched.headers["ETag"]
        updated = client.patch(
            f"/api/v1/tasks/{task['id']}", json={"description": "checked nightly"}, headers={"If-Match": etag}
        )
        assert updated.status_code == 200
        assert updated.json()["description"] == "checked nightly"
        assert (
            client.patch(
                f"/api/v1/tasks/{task['id']}", json={"description": "x"}, headers={"If-Match": etag}
            ).status_code
            == 412
        )
        # 5. Delete task (soft delete)
        assert client.delete(f"/api/v1/tasks/{task['id']}").status_code == 204
        assert client.get(f"/api/v1/tasks/{task['id']}").status_code == 404
        assert client.get("/api/v1/tasks").json()["total"] == 0


def test_edge_12_invalid_schedule_is_422_with_the_reason(dev_server: DevServer) -> None:
    with dev_server.client("e2e-edge") as client:
        response = client.post(
            "/api/v1/tasks", json=valid_task(is_scheduled=True, schedule_cron="99 * * * *")
        )
    assert response.status_code == 422
    detail = response.json()["error"]["details"][0]
    assert detail["loc"] == ["body", "schedule_cron"]
    assert detail["msg"]


def test_edge_13_invalid_report_format_is_422(dev_server: DevServer) -> None:
    with dev_server.client("e2e-edge") as client:
        response = client.post("/api/v1/tasks", json=valid_task(generate_report=True, report_format="docx"))
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"] == ["body", "report_format"]


def test_edge_14_another_user_is_denied(dev_server: DevServer) -> None:
    with dev_server.client("e2e-owner") as owner, dev_server.client("e2e-intruder") as intruder:
        task = owner.post("/api/v1/tasks", json=valid_task(name="private")).json()
        assert intruder.get(f"/api/v1/tasks/{task['id']}").status_code == 404
        assert intruder.patch(f"/api/v1/tasks/{task['id']}", json={"description": "x"}).status_code == 404
        assert intruder.delete(f"/api/v1/tasks/{task['id']}").status_code == 404
        public = owner.post("/api/v1/tasks", json=valid_task(name="shared", is_public=True)).json()
        assert intruder.get(f"/api/v1/tasks/{public['id']}").status_code == 200
        assert intruder.delete(f"/api/v1/tasks/{public['id']}").status_code == 403


def test_edge_15_task_not_found_is_404(dev_server: DevServer) -> None:
    with dev_server.client("e2e-edge") as client:
        response = client.get("/api/v1/tasks/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
