"""`notification_config.only_if`: a JMESPath expression, evaluated against the event.

The expression was compile-checked (and its length bounded) when the config was written, and the
event is at most a bus event's size, but neither bounds the work: each `| [@, @]` doubles what
the next step holds, so a 500-character expression can ask `to_string`, `==` or a flatten to walk
2^60 values, and `join` repeats its separator once per item. So the evaluation is metered: every
step, every value it makes (counted as its tree: containers, items and characters) and every
`join`'s output is charged, the event's own values are free, and past MAX_WORK it stops (the
notification is skipped, saying why), before the step that would go over runs.
"""

from __future__ import annotations

from typing import Any

import jmespath
from jmespath import functions, visitor
from jmespath.exceptions import JMESPathError

# Units of work one evaluation may spend: a few times the largest bus event (256 KiB).
MAX_WORK = 1_000_000


class TooMuchWork(JMESPathError):
    """The expression asked for more than MAX_WORK on this event."""


class _Meter:
    """Charges work; knows the tree size of every value seen (by identity, keeping each alive)."""

    def __init__(self, event: Any) -> None:
        self.spent = 0
        self._sizes: dict[int, tuple[Any, int]] = {}
        self._size(event)  # the event's own values cost nothing to look at again

    def charge(self, units: int) -> None:
        self.spent += units
        if self.spent > MAX_WORK:
            raise TooMuchWork(f"more than {MAX_WORK} units of work")

    def made(self, value: Any) -> None:
        """A step's result: one unit, plus its tree's size the first time it is seen."""
        if isinstance(value, str | list | dict) and id(value) not in self._sizes:
            self.charge(1 + self._size(value))
        else:
            self.charge(1)

    def _size(self, value: Any) -> int:
        """Containers, items and characters of `value` as a tree (iterative: nesting may be deep)."""
        stack: list[tuple[Any, bool]] = [(value, False)]
        while stack:
            node, children_done = stack.pop()
            if not isinstance(node, str | list | dict) or id(node) in self._sizes:
                continue
            if isinstance(node, str):
                self._sizes[id(node)] = (node, len(node))
                continue
            items = list(node.values()) if isinstance(node, dict) else node
            if not children_done:
                stack.append((node, True))
                stack.extend((item, False) for item in items)
                continue
            size = 1 + sum(self._sizes[id(i)][1] if isinstance(i, str | list | dict) else 1 for i in items)
            self._sizes[id(node)] = (node, size)
        return self._sizes[id(value)][1] if isinstance(value, str | list | dict) else 1


class _MeteredFunctions(functions.Functions):
    def __init__(self, meter: _Meter) -> None:
        super().__init__()
        self._meter = meter

    def call_function(self, function_name: str, resolved_args: list[Any]) -> Any:
        if function_name == "join" and len(resolved_args) == 2:
            separator, items = resolved_args
            if isinstance(separator, str) and isinstance(items, list):
                # charged before it runs: its output may be far larger than its inputs
                self._meter.charge(len(separator) * max(len(items) - 1, 0))
        return super().call_function(function_name, resolved_args)


class _MeteredInterpreter(visitor.TreeInterpreter):
    def __init__(self, meter: _Meter) -> None:
        super().__init__(visitor.Options(custom_functions=_MeteredFunctions(meter)))
        self._meter = meter

    def visit(self, node: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        result = super().visit(node, *args, **kwargs)
        self._meter.made(result)
        return result


def evaluate(expression: str, event: dict[str, Any]) -> Any:
    """The expression's value on the event; TooMuchWork past MAX_WORK (a JMESPathError, as are
    the errors of an expression that cannot be evaluated on this event)."""
    parsed = jmespath.compile(expression)
    return _MeteredInterpreter(_Meter(event)).visit(parsed.parsed, event)


def holds(expression: str | None, event: dict[str, Any]) -> tuple[bool, str | None]:
    """(whether to notify, why not): no expression notifies; a truthy result notifies; a falsy one
    (or an expression that cannot be evaluated on this event, or asks too much work) does not."""
    if expression is None:
        return True, None
    try:
        value = evaluate(expression, event)
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
