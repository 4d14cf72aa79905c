"""Prompt templates under the work budget: heavy templates are refused fast, normal ones cost no more.

Run: .venv/bin/python -m tests.bench.bench_templates

1. Every template the review found holding the CPU or the memory (tests/unit/test_templates.py's
   HEAVY_TEMPLATES) is rendered as preview and Prepare render it; reported: whether the answer
   is a 422 naming `prompt_template`, and the CPU time to get it (target: under 1 s each).
2. A normal template (variables, a loop, a few filters), compiled and rendered as `render` does
   on every call, by the budgeted sandbox and by Jinja's plain ImmutableSandboxedEnvironment;
   also the render alone of an already compiled template. CPU time, median of rounds
   (target: the budget adds at most 10%).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from jinja2.sandbox import ImmutableSandboxedEnvironment

from agent_tasks.template_sandbox import BudgetedSandbox, render_budget
from agent_tasks.templates import TemplateError, render

NORMAL_TEMPLATE = """Check the {{ environment }} deployment of {{ service }} in {{ region | upper }}.
{% for check in checks.split(',') %}
{{ loop.index }}. {{ check | trim | capitalize }}{% if not loop.last %};{% endif %}
{% endfor %}
Report as {{ format | default('markdown') }}, at most {{ max_words }} words, for {{ team | title }}.
{{ notes | truncate(200) }}"""
NORMAL_VARIABLES: dict[str, Any] = {
    "environment": "production",
    "service": "api-gateway",
    "region": "eu-west-1",
    "checks": "health endpoint, error rate, latency p95, recent deploys, open alarms",
    "format": "markdown",
    "max_words": 300,
    "team": "platform operations",
    "notes": "Look at the last 24 hours only. " * 4,
}
ROUNDS = 7
RENDERS_PER_ROUND = 200


def _cpu_ms(action: Callable[[], object]) -> float:
    started = time.process_time()
    action()
    return (time.process_time() - started) * 1000


def heavy_templates() -> dict[str, dict[str, Any]]:
    from tests.unit.test_templates import BIG, HEAVY_TEMPLATES

    results: dict[str, dict[str, Any]] = {}
    for name, source in HEAVY_TEMPLATES.items():
        outcome: dict[str, Any] = {}

        def attempt(source: str = source, outcome: dict[str, Any] = outcome) -> None:
            try:
                render(source, {"big": BIG})
            except TemplateError as error:
                outcome["status"] = 422
                outcome["loc"] = error.details[0]["loc"]
                outcome["msg"] = str(error.details[0]["msg"])[:100]
            else:
                outcome["status"] = 200

        outcome["cpu_ms"] = round(_cpu_ms(attempt), 2)
        outcome["ok"] = outcome["status"] == 422 and outcome.get("loc") == ["body", "prompt_template"]
        results[name] = outcome
    return results


def _median_us(action: Callable[[], object]) -> float:
    rounds = []
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(RENDERS_PER_ROUND):
            action()
        rounds.append((time.process_time() - started) / RENDERS_PER_ROUND * 1e6)
    return statistics.median(rounds)


def normal_template() -> dict[str, float]:
    plain = ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
    budgeted = BudgetedSandbox(autoescape=False, keep_trailing_newline=True)
    assert (
        plain.from_string(NORMAL_TEMPLATE).render(**NORMAL_VARIABLES)
        == render(NORMAL_TEMPLATE, NORMAL_VARIABLES).text
    )

    def plain_compile_render() -> None:
        plain.from_string(NORMAL_TEMPLATE).render(**NORMAL_VARIABLES)

    def budgeted_compile_render() -> None:
        with render_budget():
            budgeted.from_string(NORMAL_TEMPLATE).render(**NORMAL_VARIABLES)

    plain_compiled = plain.from_string(NORMAL_TEMPLATE)
    budgeted_compiled = budgeted.from_string(NORMAL_TEMPLATE)

    def plain_render() -> None:
        plain_compiled.render(**NORMAL_VARIABLES)

    def budgeted_render() -> None:
        with render_budget():
            budgeted_compiled.render(**NORMAL_VARIABLES)

    # Interleaved, so a neighbour's load falls on both alike.
    figures: dict[str, list[float]] = {name: [] for name in ("plain", "budgeted", "plain_r", "budgeted_r")}
    for _ in range(3):
        figures["plain"].append(_median_us(plain_compile_render))
        figures["budgeted"].append(_median_us(budgeted_compile_render))
        figures["plain_r"].append(_median_us(plain_render))
        figures["budgeted_r"].append(_median_us(budgeted_render))
    best = {name: min(values) for name, values in figures.items()}
    return {
        "compile_render_plain_us": round(best["plain"], 1),
        "compile_render_budgeted_us": round(best["budgeted"], 1),
        "compile_render_ratio": round(best["budgeted"] / best["plain"], 3),
        "render_plain_us": round(best["plain_r"], 1),
        "render_budgeted_us": round(best["budgeted_r"], 1),
        "render_ratio": round(best["budgeted_r"] / best["plain_r"], 3),
        # templates.render as the service calls it: the compiled template is cached per source.
        "render_call_cached_us": round(_median_us(lambda: render(NORMAL_TEMPLATE, NORMAL_VARIABLES)), 1),
    }


def run() -> dict[str, Any]:
    return {"heavy": heavy_templates(), "normal": normal_template()}


def check(result: dict[str, Any]) -> list[str]:
    """Failures: a heavy template not answered 422 naming prompt_template (timings are only reported)."""
    return [
        f"template {name!r} was not refused with a 422" for name, r in result["heavy"].items() if not r["ok"]
    ]


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
