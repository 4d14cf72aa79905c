"""JSON text from outside, parsed strictly: the one parser for request bodies and stored variables.

`json.loads` alone accepts what is not JSON (`NaN`, `Infinity`, `1e400` as infinity), keeps the
last of duplicate keys, recurses until a `RecursionError` on deep nesting, and turns `2.0` into a
float whose text is gone. Here:

- nesting deeper than MAX_DEPTH is refused before parsing;
- `NaN`, `Infinity`, `-Infinity` and numbers out of a double's range are refused (RFC 8259 §6);
- a key given twice in one object is refused (RFC 8259 §4: names SHOULD be unique);
- an integer stays a Python int (exact, however long, up to MAX_INTEGER_DIGITS digits);
- a number with a fraction or exponent is a `JsonNumber`: a float that remembers its text, so a
  prompt renders `2.0` and `1e20` exactly as the caller wrote them, in a preview and in the run.

Every refusal is a `json.JSONDecodeError`, so callers that already treat bad JSON as a 400 need
nothing more.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 64
MAX_INTEGER_DIGITS = 4_000  # below CPython's 4,300-digit int/str conversion limit
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET_DEPTH = {"[": 1, "{": 1, "]": -1, "}": -1}
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


class JsonNumber(float):
    """A JSON number with a fraction or an exponent: its value as a float, `str()` its text as written."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> JsonNumber:
        number = super().__new__(cls, text)
        if not math.isfinite(number):
            raise ValueError(f"the number {text[:40]} is out of range (JSON numbers must be finite)")
        number.text = text
        return number

    def __str__(self) -> str:
        return self.text

    def __reduce__(self) -> tuple[type[JsonNumber], tuple[str]]:
        return (JsonNumber, (self.text,))


class _Refused(ValueError):
    pass


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON (RFC 8259 allows only finite numbers)")


def _number(text: str) -> JsonNumber:
    try:
        return JsonNumber(text)
    except ValueError as exc:
        raise _Refused(str(exc)) from exc


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _Refused(f"an integer has more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise _Refused(f"the key {duplicate!r} appears more than once in one object")
    return result


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in a JSON text (brackets inside strings do not count)."""
    if text.count("[") + text.count("{") <= 1:
        return min(1, text.count("[") + text.count("{"))
    brackets = _NOT_BRACKETS.sub("", _STRING.sub("", text))
    return max(itertools.accumulate(map(_BRACKET_DEPTH.__getitem__, brackets)), default=0)


def loads(text: str | bytes) -> Any:
    """Parse a JSON text strictly (see the module's docstring); json.JSONDecodeError says why not."""
    source = text.decode("utf-8") if isinstance(text, bytes) else text
    if (source.count("[") + source.count("{")) > MAX_DEPTH and nesting_depth(source) > MAX_DEPTH:
        raise json.JSONDecodeError(f"arrays and objects may nest at most {MAX_DEPTH} deep", source, 0)
    try:
        return json.loads(
            source,
            object_pairs_hook=_object,
            parse_constant=_constant,
            parse_float=_number,
            parse_int=_integer,
        )
    except _Refused as refused:
        raise json.JSONDecodeError(str(refused), source, 0) from refused


def dumps_flat(values: Mapping[str, Any]) -> str:
    """A flat object of scalars as JSON, each JsonNumber written with its own text (kept exactly)."""
    parts = []
    for key, value in values.items():
        written = value.text if isinstance(value, JsonNumber) else json.dumps(value, allow_nan=False)
        parts.append(f"{json.dumps(key)}:{written}")
    return "{" + ",".join(parts) + "}"
