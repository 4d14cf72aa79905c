"""validate_timezone: IANA names, with the reason (and a suggestion) for unknown ones."""

from __future__ import annotations

import re
import zoneinfo

import pytest

from agent_tasks.schedules import validate_timezone


def test_the_machine_has_a_time_zone_database() -> None:
    # Given this test environment, Then zoneinfo finds zones (else the rest of the suite is moot)
    assert {"Europe/Berlin", "America/New_York"} <= zoneinfo.available_timezones()


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Etc/UTC"])
def test_iana_names_are_accepted(name: str) -> None:
    assert validate_timezone(name) == name


def test_surrounding_whitespace_is_dropped() -> None:
    assert validate_timezone("  Europe/Berlin ") == "Europe/Berlin"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "timezone is empty"),
        ("   ", "timezone is empty"),
        ("Mars/Olympus_Mons", "unknown timezone 'Mars/Olympus_Mons': not an IANA time zone name"),
        ("Europe/Berln", "did you mean 'Europe/Berlin'?"),
        ("europe/berlin", "did you mean 'Europe/Berlin'?"),
        ("CEST", "unknown timezone 'CEST'"),
        ("+02:00", "unknown timezone '+02:00'"),
        ("../../etc/passwd", "unknown timezone '../../etc/passwd'"),
        ("zone.tab", "unknown timezone 'zone.tab'"),
    ],
)
def test_unknown_names_are_rejected_with_the_reason(name: str, reason: str) -> None:
    # Given a name that is not an IANA zone, When validated, Then ValueError says why
    with pytest.raises(ValueError, match=re.escape(reason)):
        validate_timezone(name)
