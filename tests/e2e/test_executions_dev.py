"""`make dev` end to end: execute a task, poll it to the end, read its transcript (scripted model)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.support.dev_server import DevServer

pytestmark = pytest.mark.e2e

TERMINAL = {"completed", "failed", "cancelled", "timed_out"}


def test_execute_poll_and_read_the_transcript_over_http(dev_server: DevServer) -> None:
    with dev_server.client("e2e-runner") as client:
        # Given a task created through the API
        created = client.post(
            "/api/v1/tasks",
            json={
                "name": "e2e execution",
                "prompt_template": "Check the {{ environment }} deployment of {{ service }}.",
                "allowed_tools": ["list_files", "write_file", "read_file"],
                "sdk_options": {"max_turns": 10},
            },
        )
        assert created.status_code == 201, created.text
        task_id = created.json()["id"]
        # When it is executed with variables
        started = client.post(
            f"/api/v1/tasks/{task_id}/execute",
            json={"variables": {"environment": "prod", "service": "api-gateway"}},
        )
        assert started.status_code == 202, started.text
        location = started.headers["location"]
        # Then polling its Location ends in completed (bounded poll)
        deadline = time.monotonic() + 60
        pause = threading.Event()
        execution: dict[str, Any] = {}
        while time.monotonic() < deadline:
            execution = client.get(location).json()
            if execution["status"] in TERMINAL:
                break
            pause.wait(0.05)
        assert execution["status"] == "completed", execution
        assert execution["provider"] == "scripted"
        assert execution["rendered_prompt"] == "Check the prod deployment of api-gateway."
        # And the transcript starts with that prompt and ends with the answer
        messages = client.get(execution["_links"]["messages"], params={"page_size": 100}).json()
        assert messages["total"] == execution["total_messages"]
        assert messages["items"][0]["content"][0]["text"] == "Check the prod deployment of api-gateway."
        assert messages["items"][-1]["role"] == "assistant"
