"""validate_cron: five-field Unix cron, normalised, and every rejection says why; describe_cron."""

from __future__ import annotations

import re

import pytest

from agent_tasks.schedules import describe_cron, validate_cron


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("0 9 * * MON-FRI", "0 9 * * MON-FRI"),
        ("  0   9 *\t* mon-fri ", "0 9 * * MON-FRI"),
        ("*/15 * * * *", "*/15 * * * *"),
        ("0 0 1 jan *", "0 0 1 JAN *"),
        ("0 0 * * 0", "0 0 * * 0"),
        ("0 0 * * 7", "0 0 * * 7"),
        ("0 0 * * 5-7", "0 0 * * 5-7"),
        ("5/15 * * * *", "5/15 * * * *"),
        ("0-30/10 8-18 1,15 */3 1-5", "0-30/10 8-18 1,15 */3 1-5"),
        ("0 0 29 2 *", "0 0 29 2 *"),
        ("59 23 31 12 *", "59 23 31 12 *"),
        ("@daily", "@daily"),
        ("@HOURLY", "@hourly"),
        ("@yearly", "@yearly"),
        ("* * * * *", "* * * * *"),
    ],
)
def test_valid_expressions_come_back_normalised(given: str, normalised: str) -> None:
    # Given a valid expression, When validated, Then the normalised form is returned
    assert validate_cron(given) == normalised


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("", "cron expression is empty"),
        ("   ", "cron expression is empty"),
        ("garbage", "expected 5 fields (minute hour day-of-month month day-of-week), got 1"),
        ("0 9 * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"),
        ("0 0 9 * * *", "got 6; seconds and years fields are not supported"),
        ("0 0 9 * * * 2026", "got 7; seconds and years fields are not supported"),
        ("61 * * * *", "minute field: 61 is out of range 0-59"),
        ("* 24 * * *", "hour field: 24 is out of range 0-23"),
        ("0 0 0 * *", "day-of-month field: 0 is out of range 1-31"),
        ("0 0 32 * *", "day-of-month field: 32 is out of range 1-31"),
        ("0 0 * 13 *", "month field: 13 is out of range 1-12"),
        ("0 0 * * 8", "day-of-week field: 8 is out of range 0-7"),
        ("0 0 * * MUN", "day-of-week field: 'MUN' is not a number or a day name (SUN-SAT)"),
        ("0 0 * JANUARY *", "month field: 'JANUARY' is not a number or a month name (JAN-DEC)"),
        ("MON 0 * * *", "minute field: 'MON' is not a number"),
        ("*/0 * * * *", "minute field: step 0 is out of range 1-59"),
        ("*/61 * * * *", "minute field: step 61 is out of range 1-59"),
        ("*/x * * * *", "minute field: step 'X' is not a whole number"),
        ("59-1 * * * *", "minute field: range 59-1 runs backwards (59 > 1)"),
        ("0 0 * * FRI-SUN", "day-of-week field: range FRI-SUN runs backwards (5 > 0)"),
        ("1,,2 * * * *", "minute field: '1,,2' has an empty list item"),
        ("0 0 L * *", "the L, W, #, ? and H extensions are not supported"),
        ("0 0 15W * *", "the L, W, #, ? and H extensions are not supported"),
        ("0 0 * * 5L", "the L, W, #, ? and H extensions are not supported"),
        ("0 0 * * 1#2", "the L, W, #, ? and H extensions are not supported"),
        ("0 0 ? * 1", "the L, W, #, ? and H extensions are not supported"),
        ("H * * * *", "the L, W, #, ? and H extensions are not supported"),
        ("0 0 31 4,6 *", "never fires: day-of-month 31 never occurs in month 4,6"),
        ("0 0 30 2 *", "never fires: day-of-month 30 never occurs in month 2"),
        ("@reboot", "@reboot is not supported"),
        ("@fortnightly", "unknown cron nickname '@fortnightly'; supported: @yearly"),
        ("0 " * 120, "cron expression is too long"),
    ],
)
def test_invalid_expressions_are_rejected_with_the_reason(given: str, reason: str) -> None:
    # Given an invalid expression, When validated, Then ValueError says why
    with pytest.raises(ValueError, match=re.escape(reason)):
        validate_cron(given)


def test_day_of_month_or_day_of_week_follows_unix_cron() -> None:
    # Given both day fields restricted, When validated, Then it is accepted (either day fires)
    assert validate_cron("0 0 13 * FRI") == "0 0 13 * FRI"


@pytest.mark.parametrize(
    ("expression", "description"),
    [
        ("0 9 * * MON-FRI", "At 09:00, Monday through Friday"),
        ("30 14 * * *", "At 14:30"),
        ("*/15 * * * *", "Every 15 minutes"),
        ("0 0 * * 7", "At 00:00, only on Sunday"),
        ("0 0 * * 0", "At 00:00, only on Sunday"),
        ("0 22 1 JAN *", "At 22:00, on day 1 of the month, only in January"),
        ("@daily", "At 00:00"),
        ("@hourly", "Every hour"),
        ("0 0 13 * FRI", "At 00:00, on day 13 of the month, or on Friday"),
    ],
)
def test_describe_cron_in_words_with_24_hour_times(expression: str, description: str) -> None:
    # Given a valid expression, When described, Then the words match (24-hour clock)
    assert describe_cron(expression) == description


def test_describe_cron_rejects_an_invalid_expression_with_the_reason() -> None:
    # Given an invalid expression, When described, Then the validation reason is raised
    with pytest.raises(ValueError, match="minute field: 61 is out of range 0-59"):
        describe_cron("61 * * * *")
