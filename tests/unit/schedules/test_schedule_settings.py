"""ScheduleSettings: defaults, normalisation, and 422-ready errors that name the field and the reason."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from agent_tasks.schedules import ScheduleSettings


def test_defaults() -> None:
    settings = ScheduleSettings(schedule_cron="0 9 * * mon-fri")
    assert settings.schedule_cron == "0 9 * * MON-FRI"
    assert settings.schedule_timezone == "UTC"
    assert settings.overlap_policy == "skip"
    assert settings.pause_after_failures is None


def test_all_fields_set() -> None:
    settings = ScheduleSettings.model_validate(
        {
            "schedule_cron": "@daily",
            "schedule_timezone": "Europe/Berlin",
            "overlap_policy": "allow",
            "pause_after_failures": 5,
        }
    )
    assert (settings.schedule_cron, settings.schedule_timezone) == ("@daily", "Europe/Berlin")
    assert (settings.overlap_policy, settings.pause_after_failures) == ("allow", 5)


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({"schedule_cron": "0 0 9 * * *"}, "schedule_cron", "expected 5 fields"),
        ({"schedule_cron": "61 * * * *"}, "schedule_cron", "minute field: 61 is out of range 0-59"),
        (
            {"schedule_cron": "* * * * *", "schedule_timezone": "Europe/Berln"},
            "schedule_timezone",
            "did you mean",
        ),
        ({"schedule_cron": "* * * * *", "overlap_policy": "queue"}, "overlap_policy", "'skip' or 'allow'"),
        (
            {"schedule_cron": "* * * * *", "pause_after_failures": 0},
            "pause_after_failures",
            "greater than or equal to 1",
        ),
        (
            {"schedule_cron": "* * * * *", "pause_after_failures": 101},
            "pause_after_failures",
            "less than or equal to 100",
        ),
        ({"schedule_cron": "* * * * *", "cron": "x"}, "cron", "Extra inputs are not permitted"),
        ({}, "schedule_cron", "Field required"),
    ],
)
def test_errors_name_the_field_and_the_reason(payload: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(ValidationError) as raised:
        ScheduleSettings.model_validate(payload)
    errors = raised.value.errors()
    assert [error["loc"] for error in errors] == [(field,)]
    assert reason in errors[0]["msg"]
