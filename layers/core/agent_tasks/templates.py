"""Prompt templates: Jinja2 in its sandbox, with `{{ name }}` variables.

A variable that is not given is left in the text exactly as written (the analysis asks for
this), so a partly-filled prompt still shows what is missing. Templates cannot reach
attributes that start with an underscore, include other templates or import anything:
such a template is refused when it is saved, and the sandbox stops it again at render time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache

from jinja2 import Template, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, UndefinedError

from agent_tasks.errors import ValidationFailedError
from agent_tasks.template_sandbox import (
    BudgetedSandbox,
    TemplateBudgetExceeded,
    render_budget,
)

MAX_RENDERED_BYTES = 300_000  # UTF-8; the execution keeps it in S3 past 64 KB (store/executions.py)
_EXPRESSION = re.compile(r"(?P<raw>\{%-?\s*raw\s*-?%\}.*?\{%-?\s*endraw\s*-?%\})|\{\{(.*?)\}\}", re.DOTALL)
# Names a template may not use: a prompt can never hold a secret's value (models/secrets.py).
SECRET_VARIABLES = frozenset({"secret", "secrets"})
_FORBIDDEN_NODES = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)

VariableValue = str | int | float | bool


@cache
def _environment() -> BudgetedSandbox:
    # autoescape off: prompts are text for a model, not HTML. The sandbox has a work budget.
    return BudgetedSandbox(autoescape=False, keep_trailing_newline=True)


class TemplateError(ValidationFailedError):
    """A template that cannot be saved or rendered; `details` say where."""


def _fail(field: str, message: str, *, line: int | None = None) -> TemplateError:
    detail: dict[str, object] = {"loc": ["body", field], "msg": message, "type": "template_error"}
    if line is not None:
        detail["line"] = line
    return TemplateError(message, details=[detail])


class _Unusable(Exception):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@lru_cache(maxsize=4096)
def _variables_of(source: str) -> tuple[str, ...]:
    """Parse and check a template once per distinct source (every task read needs its variables)."""
    try:
        tree = _environment().parse(source)
    except TemplateSyntaxError as exc:
        raise _Unusable(f"template syntax error at line {exc.lineno}: {exc.message}", exc.lineno) from exc
    except (ValueError, RecursionError, MemoryError) as exc:  # e.g. a number literal too long to read
        raise _Unusable(f"the template cannot be read: {type(exc).__name__}: {exc}"[:300], None) from exc
    for node in tree.find_all(_FORBIDDEN_NODES):
        raise _Unusable(
            f"templates may not use {type(node).__name__.lower()} (line {node.lineno})", node.lineno
        )
    for access in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = (
            access.attr
            if isinstance(access, nodes.Getattr)
            else getattr(getattr(access, "arg", None), "value", None)
        )
        if isinstance(name, str) and name.startswith("_"):
            raise _Unusable(f"templates may not access {name!r} (line {access.lineno})", access.lineno)
    variables = meta.find_undeclared_variables(tree)
    if variables & SECRET_VARIABLES:
        line = next((n.lineno for n in tree.find_all(nodes.Name) if n.name in SECRET_VARIABLES), None)
        raise _Unusable(
            "the prompt cannot reference secrets: their values never reach the model. List the secret "
            "in the task's `secrets` for its tools, and write {% raw %}{{ secret.NAME }}{% endraw %} "
            "where the prompt should show the placeholder itself",
            line,
        )
    return tuple(sorted(variables))


def validate_template(source: str, *, field: str = "prompt_template") -> list[str]:
    """Check a template and return the variables it uses, sorted; raise TemplateError if it is unusable."""
    try:
        return list(_variables_of(source))
    except _Unusable as problem:
        raise _fail(field, problem.message, line=problem.line) from problem


@lru_cache(maxsize=32)
def _compiled(source: str) -> Template:
    """A template is compiled once per distinct source (compiling costs 40 times what rendering does)."""
    return _environment().from_string(source)


@dataclass(frozen=True)
class RenderedPrompt:
    text: str
    variables_used: list[str]
    variables_missing: list[str]


def _protect_missing(source: str, missing: set[str]) -> str:
    """Turn each `{{ ... }}` that needs a missing variable into a string literal of its own text, so it
    renders exactly as written. Raw blocks are left alone (what they hold is text already)."""
    environment = _environment()

    def replace(match: re.Match[str]) -> str:
        if match.group("raw") is not None:
            return match.group(0)
        try:
            used = meta.find_undeclared_variables(environment.parse(match.group(0)))
        except TemplateSyntaxError:
            return match.group(0)
        if used & missing:
            return "{{ " + json.dumps(match.group(0)) + " }}"
        return match.group(0)

    return _EXPRESSION.sub(replace, source)


def render(
    source: str, variables: Mapping[str, VariableValue], *, field: str = "prompt_template"
) -> RenderedPrompt:
    """Render a template with the given variables; missing ones stay as written."""
    wanted = validate_template(source, field=field)
    missing = {name for name in wanted if name not in variables}
    try:
        with render_budget():  # compiling too: the output's joins are checked as the text grows
            template = _compiled(_protect_missing(source, missing) if missing else source)
            text = template.render(**{k: v for k, v in variables.items() if k in wanted})
    except TemplateBudgetExceeded as exc:
        raise _fail(field, f"the template does too much work: {exc.message}") from exc
    except SecurityError as exc:
        raise _fail(field, f"the template tried something the sandbox forbids: {exc}") from exc
    except (TemplateSyntaxError, UndefinedError, TypeError, ValueError, ArithmeticError) as exc:
        raise _fail(field, f"the template could not be rendered: {exc}"[:1000]) from exc
    except (MemoryError, RecursionError) as exc:
        raise _fail(
            field, f"the template needs too much memory or nests too deeply ({type(exc).__name__})"
        ) from exc
    if len(text.encode("utf-8")) > MAX_RENDERED_BYTES:
        raise _fail(field, f"the rendered prompt is over {MAX_RENDERED_BYTES:,} bytes in UTF-8")
    return RenderedPrompt(
        text=text,
        variables_used=sorted(name for name in wanted if name in variables),
        variables_missing=sorted(missing),
    )
