"""Structured output: a task's `output_schema` (JSON Schema), checked with the `jsonschema` package.

The API checks the schema itself when a task is saved; the loop checks the final answer against it.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_ERRORS = 10
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(?P<body>.*?)\n\s*```\s*$", re.DOTALL)


def _validator_class(schema: dict[str, Any]) -> Any:
    from jsonschema.validators import validator_for

    return validator_for(schema)


def schema_problem(schema: dict[str, Any]) -> str | None:
    """Why `schema` is not a valid JSON Schema (against its own `$schema` draft, 2020-12 by default)."""
    from jsonschema.exceptions import SchemaError

    try:
        _validator_class(schema).check_schema(schema)
    except SchemaError as err:
        where = "/".join(str(p) for p in err.absolute_path)
        return f"{err.message}" + (f" (at {where})" if where else "")
    return None


def parse_answer(text: str) -> tuple[Any, str | None]:
    """The JSON value in a final answer (a ```json fence is allowed), or the reason there is none."""
    match = _FENCE.match(text)
    body = match.group("body") if match else text
    try:
        return json.loads(body), None
    except ValueError as err:
        return None, f"the answer is not JSON: {err}"


def answer_errors(text: str, schema: dict[str, Any]) -> tuple[Any, list[str]]:
    """The parsed answer and what is wrong with it (empty when it validates)."""
    value, problem = parse_answer(text)
    if problem is not None:
        return None, [problem]
    validator = _validator_class(schema)(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    described = []
    for error in errors[:MAX_ERRORS]:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        described.append(f"{where}: {error.message}"[:500])
    return value, described


def final_answer_instruction(schema: dict[str, Any]) -> str:
    """For models without output_config.format: how the final answer must look."""
    return (
        "When you give your final answer (the turn in which you call no more tools), reply with only "
        "a JSON value, no prose and no code fence, that validates against this JSON Schema:\n"
        + json.dumps(schema, separators=(",", ":"))
    )


REPAIR_PREFIX = "Your final answer does not validate against the required JSON Schema"


def repair_request(errors: list[str]) -> str:
    return f"{REPAIR_PREFIX}:\n- " + "\n- ".join(errors) + "\nReply with only the corrected JSON value."
