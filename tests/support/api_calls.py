"""Small helpers to call the API function's handler with real payload-2.0 events."""

from __future__ import annotations

import json
from typing import Any

from tests.support.events import http_api_event

ROUTES = [
    "/api/v1/tasks/{task_id}/executions",
    "/api/v1/tasks/{task_id}/execute",
    "/api/v1/tasks/{task_id}/preview",
    "/api/v1/tasks/{task_id}/reports",
    "/api/v1/tasks/{task_id}/restore",
    "/api/v1/tasks/{task_id}",
]


def valid_task(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Check Deployment Status",
        "prompt_template": "Check {{environment}} deployment for {{service}}",
        "allowed_tools": ["bash", "read_file"],
        "sdk_options": {"max_turns": 10},
    }
    body.update(overrides)
    return body


class Api:
    """Calls the handler as API Gateway would, as one user."""

    def __init__(self, handler: Any, user: str) -> None:
        self.handler = handler
        self.user = user

    def call(
        self, method: str, path: str, body: Any = None, **kwargs: Any
    ) -> tuple[int, Any, dict[str, str]]:
        route = path
        parts = path.split("/")
        if len(parts) >= 5 and parts[3] == "tasks":
            route = "/".join([*parts[:4], "{task_id}", *parts[5:]])
            kwargs.setdefault("path_parameters", {"task_id": parts[4]})
        event = http_api_event(method, path, user=self.user, body=body, route=route, **kwargs)
        response = self.handler(event)
        payload = json.loads(response["body"]) if response.get("body") else None
        return response["statusCode"], payload, response.get("headers", {})

    def create(self, **overrides: Any) -> dict[str, Any]:
        status, payload, _ = self.call("POST", "/api/v1/tasks", valid_task(**overrides))
        assert status == 201, payload
        return payload  # type: ignore[no-any-return]
