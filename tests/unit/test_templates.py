"""Prompt templates: given variables are filled in, missing ones stay exactly as written."""

from __future__ import annotations

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
