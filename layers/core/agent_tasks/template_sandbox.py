"""Jinja's sandbox with a work budget: no template can hold the CPU or the memory for long.

Jinja's sandbox stops a template from reaching Python's internals, not from working hard:
`{{ 7**(7**10) }}` (one huge power, even folded at compile time), `{{ 'a' * 10**9 }}`,
`|center(10**9)`, nested `range(100000)` loops, a macro that calls itself twice... The
environment here bounds each of those ways:

- `*`, `**`, `+` and `%` are intercepted (in the sandbox that also stops constant folding) and
  refused when the result would be larger than `MAX_VALUE_CHARS` characters (strings, lists,
  numbers by their digits, `%` widths);
- filters and `str` methods whose output size an argument chooses (`center`, `indent`,
  `wordwrap`, `format`, `join`, `replace`, `tojson`, `batch`, `slice`, `sum`, `ljust`, ...) are
  checked before they allocate, and every filter's and call's result is checked after;
- every loop step and every call (macros, `loop(...)`, methods) counts against `MAX_STEPS`,
  across nesting, and the characters that filters, calls, joins and `in` tests go through
  count against `MAX_WORK_CHARS`;
- every join (a macro's or block's output, `~`, the whole output as it streams) is checked
  as it grows, before the join allocates.

Going over any of these raises `TemplateBudgetExceeded`; `templates.render` answers it (and a
`MemoryError` or `RecursionError`) with a 422 naming the field.
"""

from __future__ import annotations

import functools
import inspect
import re
import string
import textwrap
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.filters import FILTERS
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace, pass_environment

# The biggest value (string, list, number's digits) a template may make: the prompt's own cap.
MAX_VALUE_CHARS = 400_000
# Loop steps plus calls in one render.
MAX_STEPS = 20_000
# Characters gone through by filters, calls, joins and `in` tests in one render.
MAX_WORK_CHARS = 50_000_000
# Bits of the largest integer a template may compute (about 4,900 decimal digits).
MAX_INT_BITS = 16_384
MAX_JSON_INDENT = 16
# wordwrap: splitting one long word is quadratic in its length over the width.
MAX_WORDWRAP_WORK = 20_000_000
_STEP_FILTER = "_counted_steps"
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")


class TemplateBudgetExceeded(Exception):
    """The template would do more work, or make a bigger value, than a render may."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(slots=True)
class _Work:
    steps: int = MAX_STEPS
    chars: int = MAX_WORK_CHARS

    def step(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise TemplateBudgetExceeded(
                f"the template does more than {MAX_STEPS} loop steps and calls in one render"
            )

    def charge(self, chars: int) -> None:
        self.chars -= chars
        if self.chars < 0:
            raise TemplateBudgetExceeded(
                f"the template works through more than {MAX_WORK_CHARS} characters in one render"
            )


_current: ContextVar[_Work | None] = ContextVar("agent_tasks_template_work", default=None)


def _work() -> _Work:
    # Outside a render (compile-time folding, which the sandbox mostly stops): a fresh budget.
    return _current.get() or _Work()


class render_budget:
    """One render's budget, around compiling and rendering the template."""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _current.set(_Work())

    def __exit__(self, *_exc: object) -> None:
        _current.reset(self._token)


# -- sizes ----------------------------------------------------------------------------------------


def weight(value: Any, limit: int = MAX_VALUE_CHARS, depth: int = 0) -> int:
    """About how many characters `str(value)` takes; counting stops once past `limit`."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return 5
    if isinstance(value, int):
        return value.bit_length() // 3 + 1
    if depth > 32:
        return limit + 1
    items: Iterable[Any]
    if isinstance(value, dict):
        items = (part for pair in value.items() for part in pair)
    elif isinstance(value, Namespace):
        items = (part for pair in value._Namespace__attrs.items() for part in pair)  # type: ignore[attr-defined]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = value
    else:
        return 1
    total = 2
    for item in items:
        total += weight(item, limit - total, depth + 1) + 2
        if total > limit:
            break
    return total


def _refuse(what: str) -> TemplateBudgetExceeded:
    return TemplateBudgetExceeded(f"{what} would be larger than {MAX_VALUE_CHARS} characters")


def check_size(value: Any, what: str = "a value") -> Any:
    if weight(value) > MAX_VALUE_CHARS:
        raise _refuse(what)
    return value


def join_output(parts: Iterable[str]) -> str:
    """The environment's `concat`: joins a render's, macro's or block's output, refused before the
    join allocates if it would be too big. Every part is a string some step made (each checked,
    charged and counted), so gathering them first holds no more than the budget lets exist."""
    kept = parts if isinstance(parts, list) else list(parts)
    size = sum(map(len, kept))
    if size > MAX_VALUE_CHARS:
        raise _refuse("the output")
    _work().charge(size)
    return "".join(kept)


def checked_join(parts: Iterable[Any], separator: str = "") -> str:
    """`separator.join(parts)`, refused as soon as the result grows past the cap (before allocating)."""
    kept: list[str] = []
    size = 0
    for part in parts:
        text = part if isinstance(part, str) else str(check_size(part, "the output"))
        size += len(text) + (len(separator) if kept else 0)
        if size > MAX_VALUE_CHARS:
            raise _refuse("the output")
        kept.append(text)
    _work().charge(size)
    return separator.join(kept)


def _counted(iterable: Any) -> Iterator[Any]:
    work = _work()
    for item in iterable:
        work.steps -= 1
        if work.steps < 0:
            work.step()  # raises
        yield item


# -- operators ------------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise TemplateBudgetExceeded(f"a number in the template would have more than {MAX_INT_BITS} bits")


def _check_product(left: Any, right: Any) -> None:
    if _is_int(left) and _is_int(right):
        _check_int_bits(left.bit_length() + right.bit_length())
        return
    for sequence, count in ((left, right), (right, left)):
        repeats = isinstance(sequence, (str, list, tuple)) and _is_int(count) and count > 0
        if repeats and (count > MAX_VALUE_CHARS or weight(sequence) * count > MAX_VALUE_CHARS):
            raise _refuse("a repeated value")


def _check_power(base: Any, exponent: Any) -> None:
    grows = _is_int(base) and _is_int(exponent) and exponent > 0 and abs(base) > 1
    if grows and (exponent > MAX_INT_BITS or exponent * (abs(base).bit_length() - 1) > MAX_INT_BITS):
        _check_int_bits(MAX_INT_BITS + 1)


def _check_percent(template: str, values: Any) -> None:
    widths = 0
    for match in _PERCENT_SPEC.finditer(template):
        for group in match.groups():
            if group == "*":
                raise TemplateBudgetExceeded("'*' widths are not allowed in % formats in templates")
            if group:
                widths += int(group) if len(group) < 9 else MAX_VALUE_CHARS + 1
    if widths + len(template) + weight(values) > MAX_VALUE_CHARS:
        raise _refuse("a formatted string")


def _check_format_string(template: str) -> None:
    widths = 0
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return  # str.format raises the same error itself
    for _text, _name, spec, _conversion in fields:
        if spec and "{" in spec:
            raise TemplateBudgetExceeded("nested fields in a format spec are not allowed in templates")
        for number in _DIGITS.findall(spec or ""):
            widths += int(number) if len(number) < 9 else MAX_VALUE_CHARS + 1
    if widths + len(template) > MAX_VALUE_CHARS:
        raise _refuse("a formatted string")


_OPERATOR_CHECKS: dict[str, Callable[[Any, Any], None]] = {
    "*": _check_product,
    "**": _check_power,
}


# -- filters --------------------------------------------------------------------------------------


def _check_width(width: Any, what: str) -> None:
    if _is_int(width) and width > MAX_VALUE_CHARS:
        raise _refuse(what)


def _before_center(a: dict[str, Any]) -> None:
    _check_width(a["width"], "a centred string")


def _before_indent(a: dict[str, Any]) -> None:
    text, width = str(a["s"]), a["width"]
    indent = len(width) if isinstance(width, str) else width if _is_int(width) else 0
    _check_width(indent, "an indented string")
    if (text.count("\n") + 1) * indent + len(text) > MAX_VALUE_CHARS:
        raise _refuse("an indented string")


def _before_format(a: dict[str, Any]) -> None:
    if isinstance(a["value"], str):
        _check_percent(a["value"], a["kwargs"] or a["args"])


def _check_replace(value: Any, old: Any, new: Any, count: Any) -> None:
    if not (isinstance(value, str) and isinstance(old, str) and isinstance(new, str)):
        return
    times = len(value) + 1 if old == "" else value.count(old)
    if _is_int(count) and count >= 0:
        times = min(times, count)
    if len(value) + times * (len(new) - len(old)) > MAX_VALUE_CHARS:
        raise _refuse("a replaced string")


def _before_replace(a: dict[str, Any]) -> None:
    _check_replace(a["s"], a["old"], a["new"], a["count"])


def _before_tojson(a: dict[str, Any]) -> None:
    indent = a["indent"]
    size = len(indent) if isinstance(indent, str) else indent if _is_int(indent) else 0
    if size > MAX_JSON_INDENT:
        raise TemplateBudgetExceeded(f"tojson's indent may be at most {MAX_JSON_INDENT}")
    if weight(a["value"]) * (2 + size) > MAX_VALUE_CHARS:
        raise _refuse("the JSON")


def _fill_check(count: Any, fill_with: Any) -> None:
    if _is_int(count) and count > MAX_VALUE_CHARS:
        raise _refuse("the list of slices")
    if fill_with is not None and _is_int(count) and weight(fill_with) * count > MAX_VALUE_CHARS:
        raise _refuse("the filled slices")


def _before_batch(a: dict[str, Any]) -> None:
    _fill_check(a["linecount"], a["fill_with"])


def _before_slice(a: dict[str, Any]) -> None:
    _fill_check(a["slices"], a["fill_with"])


def _before_sum(a: dict[str, Any]) -> None:
    if not isinstance(a["start"], (int, float)):
        raise TemplateBudgetExceeded("sum adds numbers only in templates")


_BEFORE: dict[str, Callable[[dict[str, Any]], None]] = {
    "center": _before_center,
    "indent": _before_indent,
    "format": _before_format,
    "replace": _before_replace,
    "tojson": _before_tojson,
    "batch": _before_batch,
    "slice": _before_slice,
    "sum": _before_sum,
}


@pass_environment
def _wordwrap(
    environment: Any,
    s: str,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    """Jinja's wordwrap, with its joins checked and its quadratic case (long words, small width) bounded."""
    text = str(s)
    separator = environment.newline_sequence if wrapstring is None else str(wrapstring)
    if _is_int(width) and width > 0 and break_long_words:
        work = sum(len(word) * len(word) // width for word in text.split() if len(word) > width)
        if work > MAX_WORDWRAP_WORK:
            raise TemplateBudgetExceeded(
                "wordwrap would split words too long for the width into too many pieces"
            )
    _work().charge(len(text))
    paragraphs = (
        checked_join(
            textwrap.wrap(
                line,
                width=width,
                expand_tabs=False,
                replace_whitespace=False,
                break_long_words=break_long_words,
                break_on_hyphens=break_on_hyphens,
            ),
            separator,
        )
        for line in text.splitlines()
    )
    return checked_join(paragraphs, separator)


def _bounded_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    before = _BEFORE.get(name)
    signature = inspect.signature(original)
    # Jinja's sync/async filters take an eval context first that their signature does not show.
    inner = getattr(original, "__wrapped__", None)
    skip = 1 if inner is not None and getattr(inner, "jinja_pass_arg", None) is None else 0
    what = f"the result of |{name}"

    def check_result(result: Any) -> Any:
        size = len(result) if type(result) is str else weight(result)
        work = _current.get()
        if work is not None:
            work.charge(size)
        if size > MAX_VALUE_CHARS:
            raise _refuse(what)
        return result

    if before is None:

        @functools.wraps(original)
        def bounded(*args: Any, **kwargs: Any) -> Any:
            return check_result(original(*args, **kwargs))

        return bounded

    @functools.wraps(original)
    def checked(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind(*args[skip:], **kwargs)
        except TypeError:
            pass  # the filter itself says what is wrong with its arguments
        else:
            bound.apply_defaults()
            before(bound.arguments)
        return check_result(original(*args, **kwargs))

    return checked


def _bounded_join(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> Any:
        items = []
        size = 0
        for item in value:
            size += weight(item) + len(str(d))
            if size > MAX_VALUE_CHARS:
                raise _refuse("the joined string")
            items.append(item)
        _work().charge(size)
        return original(eval_ctx, items, d, attribute)

    return join


# -- str methods called from a template -----------------------------------------------------------


def _check_str_method(method: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Refuse a str method call whose result an argument would make too big; the (checked) args."""
    owner = getattr(method, "__self__", None)
    if not isinstance(owner, str):
        return args
    name = getattr(method, "__name__", "")
    if name in ("ljust", "rjust", "center", "zfill") and args:
        _check_width(args[0], f"str.{name}'s result")
    elif name == "expandtabs":
        size = args[0] if args and _is_int(args[0]) else 8
        if owner.count("\t") * size + len(owner) > MAX_VALUE_CHARS:
            raise _refuse("str.expandtabs's result")
    elif name == "replace" and len(args) >= 2:
        _check_replace(owner, args[0], args[1], args[2] if len(args) > 2 else None)
    elif name == "join" and args:
        args = (list(_sized(args[0], len(owner))), *args[1:])
    return args


def _sized(items: Iterable[Any], separator: int) -> Iterator[Any]:
    size = 0
    for item in items:
        size += weight(item) + separator
        if size > MAX_VALUE_CHARS:
            raise _refuse("the joined string")
        yield item


# -- the environment ------------------------------------------------------------------------------


class _BudgetedCodeGenerator(CodeGenerator):
    """`~` joins through the checked join; the container of an `in` test is charged by its size."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.join_values((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def visit_Operand(self, node: nodes.Operand, frame: Frame) -> None:
        if node.op not in ("in", "notin"):
            super().visit_Operand(node, frame)
            return
        self.write(" in " if node.op == "in" else " not in ")
        self.write("environment.charged(")
        self.visit(node.expr, frame)
        self.write(")")


class BudgetedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the work budget described in this module's docstring."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _BudgetedCodeGenerator

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals.pop("lipsum", None)  # lipsum(n) makes n paragraphs
        self.concat = join_output  # type: ignore[method-assign,assignment]
        self.join_values = checked_join
        for name, original in FILTERS.items():
            if name == "wordwrap":
                self.filters[name] = _bounded_filter(name, _wordwrap)
            elif name == "join":
                self.filters[name] = _bounded_filter(name, _bounded_join(original))
            else:
                self.filters[name] = _bounded_filter(name, original)
        self.filters[_STEP_FILTER] = _counted

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Every `for` loop iterates through the step counter."""
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, _STEP_FILTER, [], [], None, None, lineno=loop.lineno)
        return tree

    def charged(self, container: Any) -> Any:
        if isinstance(container, (str, list, tuple, dict)):
            _work().charge(len(container))
        return container

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        check = _OPERATOR_CHECKS.get(operator)
        if check is not None:
            check(left, right)
        elif operator == "%" and isinstance(left, str):
            _check_percent(left, right)
        result = self.binop_table[operator](left, right)
        if operator != "**":
            _work().charge(weight(result))
            check_size(result, "the result of an operator")
        return result

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_format_string(value.__self__)
        return wrapped

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        work = _work()
        work.step()
        if isinstance(__obj, LoopContext) and args:  # loop(children) in a recursive loop
            args = (_counted(args[0]), *args[1:])
        elif args and isinstance(getattr(__obj, "__self__", None), str):
            args = _check_str_method(__obj, args)
        result = super().call(__context, __obj, *args, **kwargs)
        size = len(result) if type(result) is str else weight(result)
        work.charge(size)
        if size > MAX_VALUE_CHARS:
            raise _refuse("the result of a call")
        return result
