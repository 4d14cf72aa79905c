"""Schedules through the API: an invalid cron or time zone is a 422 that says why; the views."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support.api_calls import Api, valid_task
from tests.support.fixtures import LambdaClient


@pytest.fixture
def alice(api: LambdaClient) -> Api:
    return Api(api, "alice")


REASONS = [
    ({"schedule_cron": "61 * * * *"}, "body.schedule_cron", "minute field: 61 is out of range 0-59"),
    (
        {"schedule_cron": "0 9 31 2 *"},
        "body.schedule_cron",
        "never fires: day-of-month 31 never occurs in month 2",
    ),
    ({"schedule_cron": "every day"}, "body.schedule_cron", "expected 5 fields"),
    (
        {"schedule_cron": "0 9 * * *", "schedule_timezone": "Europe/Atlantis"},
        "body.schedule_timezone",
        "unknown timezone 'Europe/Atlantis'",
    ),
    # Host-dependent names (files of the host's /usr/share/zoneinfo) are not IANA zones of tzdata.
    (
        {"schedule_cron": "0 9 * * *", "schedule_timezone": "localtime"},
        "body.schedule_timezone",
        "unknown timezone 'localtime'",
    ),
    (
        {"schedule_cron": "0 9 * * *", "schedule_timezone": "posixrules"},
        "body.schedule_timezone",
        "unknown timezone 'posixrules'",
    ),
]


def _reason(payload: dict[str, Any], field: str) -> str:
    return " ".join(
        detail["msg"] for detail in payload["error"]["details"] if ".".join(map(str, detail["loc"])) == field
    )


@pytest.mark.parametrize(("schedule", "field", "reason"), REASONS)
def test_an_invalid_schedule_is_422_with_the_reason_on_create(
    alice: Api, schedule: dict[str, str], field: str, reason: str
) -> None:
    # Given / When a scheduled task with a bad cron or zone is created
    status, payload, _ = alice.call("POST", "/api/v1/tasks", valid_task(is_scheduled=True, **schedule))
    # Then 422 names the field and says why
    assert status == 422, payload
    assert reason in _reason(payload, field), payload


@pytest.mark.parametrize(("schedule", "field", "reason"), REASONS)
def test_an_invalid_schedule_is_422_with_the_reason_on_update(
    alice: Api, schedule: dict[str, str], field: str, reason: str
) -> None:
    # Given a valid scheduled task
    task = alice.create(is_scheduled=True, schedule_cron="0 9 * * *")
    # When a bad cron or zone is patched in
    status, payload, _ = alice.call("PATCH", f"/api/v1/tasks/{task['id']}", schedule)
    # Then 422 says why, and the task is unchanged
    assert status == 422, payload
    assert reason in _reason(payload, field), payload
    assert alice.call("GET", f"/api/v1/tasks/{task['id']}")[1]["schedule_cron"] == "0 9 * * *"


def test_the_task_answer_shows_next_run_at_and_the_cron_in_words_in_its_zone(alice: Api) -> None:
    task = alice.create(is_scheduled=True, schedule_cron="30 2 * * *", schedule_timezone="America/New_York")
    assert task["next_run_at"] is not None
    assert task["schedule_description"] == "At 02:30"
    # And the preview lists the next fire times in the task's time zone (02:30 local, every one)
    status, preview, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/preview", {"variables": {}})
    assert status == 200, preview
    times = [datetime.fromisoformat(text) for text in preview["next_fire_times"]]
    assert len(times) == 5
    assert times[0] == datetime.fromisoformat(task["next_run_at"])
    assert all(t.strftime("%H:%M") in {"02:30", "03:00"} for t in times)
    assert all(t.utcoffset() in {timedelta(hours=-5), timedelta(hours=-4)} for t in times)
