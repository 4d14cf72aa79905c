"""`notification_config.only_if`: a JMESPath expression, evaluated against the event.

The expression was compile-checked (and its length bounded) when the config was written; the
event is the JSON the receiver would get, so its work is bounded by both.
"""

from __future__ import annotations

from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError


def holds(expression: str | None, event: dict[str, Any]) -> tuple[bool, str | None]:
    """(whether to notify, why not): no expression notifies; a truthy result notifies; a falsy one
    (or an expression that cannot be evaluated on this event) does not."""
    if expression is None:
        return True, None
    try:
        value = jmespath.search(expression, event)
    except JMESPathError as error:
        return False, f"only_if could not be evaluated: {type(error).__name__}"
    if _truthy(value):
        return True, None
    return False, f"only_if was not truthy ({_short(value)})"


def _truthy(value: Any) -> bool:
    # JMESPath's truth: false, null, empty string/list/object are false; 0 is true there, and here.
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict):
        return bool(value)
    return True


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"
