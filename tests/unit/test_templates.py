"""Prompt templates: given variables are filled in, missing ones stay exactly as written."""

from __future__ import annotations

import tracemalloc

import pytest

from agent_tasks.templates import TemplateError, render, validate_template


def test_given_variables_are_filled_and_missing_ones_stay_as_written() -> None:
    rendered = render(
        "Check {{environment}} deployment for {{ service }} ({{ region | upper }})",
        {"environment": "production"},
    )
    assert rendered.text == "Check production deployment for {{ service }} ({{ region | upper }})"
    assert rendered.variables_used == ["environment"]
    assert rendered.variables_missing == ["region", "service"]


def test_numbers_and_booleans_render_as_text() -> None:
    assert render("{{ n }} {{ flag }}", {"n": 3, "flag": True}).text == "3 True"


def test_raw_blocks_stay_raw_beside_a_missing_variable() -> None:
    # Given a raw block and the same variable outside it, not given
    rendered = render("{% raw %}{{ name }}{% endraw %} and {{ name }}", {})
    # Then both show the text as written, and nothing fails
    assert rendered.text == "{{ name }} and {{ name }}"


def test_an_expression_holding_quotes_stays_as_written_when_missing() -> None:
    assert render('{{ greeting ~ " \\"friend\\"" }}', {}).text == '{{ greeting ~ " \\"friend\\"" }}'


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ x['__globals__'] }}",
        "{% include 'other' %}",
        "{% import 'm' as m %}",
        "{{ a ",
    ],
)
def test_unsafe_or_broken_templates_are_refused_with_the_field_named(source: str) -> None:
    with pytest.raises(TemplateError) as refused:
        validate_template(source)
    assert refused.value.details[0]["loc"] == ["body", "prompt_template"]


def test_the_sandbox_stops_what_the_static_check_cannot_see() -> None:
    with pytest.raises(TemplateError, match=r"could not be rendered|sandbox"):
        render("{{ x.mro() }}", {"x": 1})


# -- the work budget (issue 14, item 2) -------------------------------------------------------------

BIG = "a" * 300_000

HEAVY_TEMPLATES = {
    "huge power": "{{ 10**(10**7) }}",
    "huge power 2": "{{ 7**(7**10) }}",
    "nested ranges": "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    "repeated string": "{{ 'a' * 10**9 }}",
    "center": "{{ 'a'|center(10**9) }}",
    "format width": "{{ '%999999999d'|format(1) }}",
    "percent width": "{{ '%999999999d' % 1 }}",
    "indent": "{{ 'a\nb'|indent(10**9) }}",
    "join of a huge range": "{{ range(100000)|join('x' * 100000) }}",
    "wordwrap": "{{ ('a ' * 100000)|wordwrap(1, wrapstring='x' * 1000) }}",
    "macro fan-out": "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    "doubling": "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s|length }}",
    "ljust": "{{ 'a'.ljust(10**9) }}",
    "str.format width": "{{ '{:>999999999}'.format(1) }}",
    "replace": "{{ ('a' * 1000).replace('', 'x' * 1000) }}",
    "nested lists": "{{ [[1] * 100000] * 100000 }}",
    "tojson indent": "{{ [1, 2]|tojson(indent=10**9) }}",
    "slice count": "{{ [1]|slice(10**9)|list }}",
    "batch fill": "{{ [1]|batch(300000, fill_with='x' * 300000)|list }}",
    "in test in a loop": "{% for i in range(20000) %}{% if 'z' in big %}{% endif %}{% endfor %}",
    "macro output": "{% macro m() %}{% for i in range(10000) %}{{ big }}{% endfor %}{% endmacro %}"
    "{{ m()|length }}",
    "recursive loop": "{% for x in [1] recursive %}{{ loop(range(100000)) }}{% endfor %}",
}


@pytest.mark.parametrize("source", HEAVY_TEMPLATES.values(), ids=HEAVY_TEMPLATES.keys())
def test_a_template_that_would_work_too_hard_is_refused_naming_the_field(source: str) -> None:
    # Given a template that would hold the CPU or the memory for long (reproduced by the review)
    tracemalloc.start()
    try:
        # When it is rendered (preview, Prepare), and saved before that
        validate_template(source)
        with pytest.raises(TemplateError) as refused:
            render(source, {"big": BIG})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Then it is a 422 naming prompt_template, reached without a big allocation
    assert refused.value.details[0]["loc"] == ["body", "prompt_template"]
    assert peak < 40_000_000, peak


def test_the_budget_is_the_reason_given() -> None:
    with pytest.raises(TemplateError) as refused:
        render("{{ 'a'|center(10**9) }}", {})
    assert "too much work" in refused.value.details[0]["msg"]


@pytest.mark.parametrize(
    "source",
    ["{{ 1" + "1" * 5000 + " }}", "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}"],
    ids=["number too long to read", "nesting too deep"],
)
def test_a_template_that_cannot_be_read_is_refused_at_save(source: str) -> None:
    with pytest.raises(TemplateError) as refused:
        validate_template(source)
    assert refused.value.details[0]["loc"] == ["body", "prompt_template"]


def test_memory_and_recursion_errors_are_a_422_not_a_500() -> None:
    class Boom:
        def __str__(self) -> str:
            raise MemoryError

    with pytest.raises(TemplateError) as refused:
        render("{{ v }}", {"v": Boom()})  # type: ignore[dict-item]
    assert refused.value.details[0]["loc"] == ["body", "prompt_template"]
    with pytest.raises(TemplateError):
        render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", {})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{% for w in words.split() %}{{ loop.index }}:{{ w|upper }} {% endfor %}", "1:A 2:B 3:C "),
        ("{{ words.split()|join(', ') }}", "a, b, c"),
        ("{{ '%s-%03d' % (words[0], 7) }}|{{ '%s!'|format(words) }}", "a-007|a b c!"),
        ("{{ '{} and {:>4}'.format(1, 'x') }}", "1 and    x"),
        ("{{ words|center(9) }}|{{ 'x\ny'|indent(2) }}", "  a b c  |x\n  y"),
        ("{{ ('one two three ' * 3)|wordwrap(10) }}", "one two\nthree one\ntwo three\none two\nthree"),
        ("{{ [1, 2, 3]|sum }} {{ 2 ** 10 }} {{ 'ab' * 3 }} {{ [1] + [2] }}", "6 1024 ababab [1, 2]"),
        ("{{ [1, 2, 3, 4, 5]|batch(2, fill_with=0)|list }}", "[[1, 2], [3, 4], [5, 0]]"),
        ("{{ {'b': 1}|tojson(indent=2) }} {{ 'b' in words }}", '{\n  "b": 1\n} True'),
    ],
)
def test_ordinary_templates_render_as_jinja_renders_them(source: str, expected: str) -> None:
    assert render(source, {"words": "a b c"}).text == expected
