"""Five-field Unix cron expressions: validation with reasons, and a human description.

Accepted syntax, per field: `*`, numbers, ranges `a-b`, lists `a,b`, steps `*/n`, `a-b/n` and
`a/n` (from a to the field's end); month and day-of-week also take three-letter names
(JAN-DEC, SUN-SAT, any case); Sunday is 0 or 7. The nicknames @yearly (@annually), @monthly,
@weekly, @daily (@midnight) and @hourly are accepted and kept as written (lower-cased); every
function here understands them. @reboot is rejected (a task has no machine that boots).

Rejected, each with the reason: seconds or years fields (6 or 7 fields), the croniter/Quartz
extensions L, W, #, ? and H, backwards (wrap-around) ranges, out-of-range values, steps of 0
or beyond the field's maximum, and expressions that can never fire (day 31 in April only).
When both day-of-month and day-of-week are restricted, a day matching either fires (Unix cron).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from cron_descriptor import (
    CasingTypeEnum,
    ExpressionDescriptor,
    FormatException,
    MissingFieldException,
    Options,
    WrongArgumentException,
)
from croniter import CroniterBadDateError, CroniterError, croniter

MAX_EXPRESSION_LENGTH = 200

NICKNAMES: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1
    )
}
_DAY_NAMES = {name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}


@dataclass(frozen=True, slots=True)
class _FieldSpec:
    name: str
    low: int
    high: int
    names: dict[str, int]
    names_hint: str


_FIELDS = (
    _FieldSpec("minute", 0, 59, {}, ""),
    _FieldSpec("hour", 0, 23, {}, ""),
    _FieldSpec("day-of-month", 1, 31, {}, ""),
    _FieldSpec("month", 1, 12, _MONTH_NAMES, " or a month name (JAN-DEC)"),
    _FieldSpec("day-of-week", 0, 7, _DAY_NAMES, " or a day name (SUN-SAT)"),
)
_FIELD_LIST = "minute hour day-of-month month day-of-week"
_ITEM = re.compile(
    r"^(?:(?P<star>\*)|(?P<start>[A-Z0-9]+)(?:-(?P<end>[A-Z0-9]+))?)(?:/(?P<step>[A-Z0-9]*))?$"
)
# Quartz/croniter extensions people paste from other schedulers; named in the error so the fix is clear.
_EXTENSION = re.compile(r"[#?]|^(?:L|W|LW|H)(?:$|[(/-])|\d[LW]$")


@lru_cache(maxsize=4096)  # pure; every task read re-checks its stored expression
def validate_cron(expression: str) -> str:
    """Return the normalised expression (whitespace collapsed, names upper-cased, nicknames
    lower-cased), or raise ValueError saying why it is not a five-field Unix cron expression."""
    return _validate(" ".join(expression.split()))


@lru_cache(maxsize=1024)
def _validate(collapsed: str) -> str:
    if not collapsed:
        raise ValueError(f"cron expression is empty; expected 5 fields ({_FIELD_LIST})")
    if len(collapsed) > MAX_EXPRESSION_LENGTH:
        raise ValueError(
            f"cron expression is too long ({len(collapsed)} characters, at most {MAX_EXPRESSION_LENGTH})"
        )
    if collapsed.startswith("@"):
        return _validate_nickname(collapsed)
    fields = collapsed.upper().split(" ")
    if len(fields) != len(_FIELDS):
        extra = "; seconds and years fields are not supported" if len(fields) in (6, 7) else ""
        raise ValueError(f"expected 5 fields ({_FIELD_LIST}), got {len(fields)}{extra}")
    for spec, text in zip(_FIELDS, fields, strict=True):
        _check_field(spec, text)
    normalised = " ".join(fields)
    _check_with_croniter(normalised)
    return normalised


def _validate_nickname(collapsed: str) -> str:
    nickname = collapsed.lower()
    if nickname in NICKNAMES:
        return nickname
    if nickname == "@reboot":
        raise ValueError("@reboot is not supported: a scheduled task has no machine that boots")
    raise ValueError(f"unknown cron nickname {collapsed!r}; supported: {', '.join(NICKNAMES)}")


def _check_field(spec: _FieldSpec, text: str) -> None:
    for item in text.split(","):
        if not item:
            raise ValueError(f"{spec.name} field: {text!r} has an empty list item")
        match = _ITEM.match(item)
        if match is None:
            raise ValueError(f"{spec.name} field: {item!r} is not valid{_syntax_hint(spec, item)}")
        start_text, end_text, step_text = match.group("start"), match.group("end"), match.group("step")
        if start_text is not None:
            start = _value(spec, start_text, item)
            if end_text is not None:
                end = _value(spec, end_text, item)
                if start > end:
                    raise ValueError(
                        f"{spec.name} field: range {item.split('/')[0]} runs backwards ({start} > {end}); "
                        "ranges must ascend, so write a wrap-around as two parts (e.g. 22-23,0-2)"
                    )
        if step_text is not None:
            _check_step(spec, step_text)


def _value(spec: _FieldSpec, text: str, item: str) -> int:
    if text.isdigit():
        value = int(text)
        if not spec.low <= value <= spec.high:
            raise ValueError(f"{spec.name} field: {value} is out of range {spec.low}-{spec.high}")
        return value
    if text in spec.names:
        return spec.names[text]
    raise ValueError(
        f"{spec.name} field: {text!r} is not a number{spec.names_hint}{_syntax_hint(spec, item, full=False)}"
    )


def _check_step(spec: _FieldSpec, step_text: str) -> None:
    if not step_text.isdigit():
        raise ValueError(f"{spec.name} field: step {step_text!r} is not a whole number")
    if not 1 <= int(step_text) <= spec.high:
        raise ValueError(f"{spec.name} field: step {int(step_text)} is out of range 1-{spec.high}")


def _syntax_hint(spec: _FieldSpec, item: str, *, full: bool = True) -> str:
    extension = (
        " (the L, W, #, ? and H extensions are not supported)" if _EXTENSION.search(item) is not None else ""
    )
    if not full:
        return extension
    names = " or names" if spec.names else ""
    return f"; use numbers{names}, *, ranges a-b, lists a,b and steps /n{extension}"


def _check_with_croniter(five_fields: str) -> None:
    # Our own checks give the reasons; croniter has the last word on what it can compute.
    try:
        croniter(five_fields, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        _, _, day_of_month, month, _ = five_fields.split(" ")
        raise ValueError(
            f"expression never fires: day-of-month {day_of_month} never occurs in month {month}"
        ) from None
    except CroniterError as exc:
        raise ValueError(f"not a valid cron expression: {exc}") from None


def five_fields(expression: str) -> str:
    """The validated expression with any nickname expanded to its five fields."""
    normalised = validate_cron(expression)
    return NICKNAMES.get(normalised, normalised)


def is_fixed_time(expression: str) -> bool:
    """True when neither the minute nor the hour field starts with `*` (Vixie cron's rule for
    which jobs daylight-saving changes move rather than skip or repeat)."""
    minute, hour, *_ = five_fields(expression).split(" ")
    return not minute.startswith("*") and not hour.startswith("*")


_DESCRIPTION_OPTIONS = Options()
_DESCRIPTION_OPTIONS.use_24hour_time_format = True
_DESCRIPTION_OPTIONS.day_of_week_start_index_zero = True
_DESCRIPTION_OPTIONS.casing_type = CasingTypeEnum.Sentence
_DESCRIPTION_OPTIONS.verbose = False


@lru_cache(maxsize=4096)
def describe_cron(expression: str) -> str:
    """A human description with 24-hour times, e.g. "At 09:00, Monday through Friday".

    Raises ValueError only for an invalid expression; for a valid one it always returns text."""
    expanded = five_fields(expression)
    try:
        description = ExpressionDescriptor(expanded, _DESCRIPTION_OPTIONS).get_description()
    except (FormatException, MissingFieldException, WrongArgumentException, ValueError, LookupError):
        description = ""
    return str(description) or f"On the cron schedule {expanded}"
