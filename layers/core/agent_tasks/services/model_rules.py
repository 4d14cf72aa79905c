"""A task's model options against the model catalogue and the price table (at create and PATCH)."""

from __future__ import annotations

from agent_tasks.agent import model_catalog
from agent_tasks.agent.model_catalog import ModelProblem
from agent_tasks.agent.pricing import price_of, price_table
from agent_tasks.errors import ValidationFailedError
from agent_tasks.models.sdk_options import SdkOptions


def model_problems(options: SdkOptions) -> list[ModelProblem]:
    catalogue = model_catalog.current()
    entry, problems = model_catalog.check_model("model", options.model, catalogue)
    if entry is not None and not problems:
        problems += model_catalog.check_request_options(
            entry,
            field_prefix="",
            max_tokens=options.max_tokens,
            effort=options.effort,
            temperature=options.temperature,
        )
    if options.fallback_model is not None:
        fallback, fallback_problems = model_catalog.check_model(
            "fallback_model", options.fallback_model, catalogue
        )
        problems += fallback_problems
        if (
            fallback is not None
            and fallback.max_tokens is not None
            and options.max_tokens > fallback.max_tokens
        ):
            problems.append(
                ModelProblem(
                    field="max_tokens",
                    message=f"{options.max_tokens} is above the fallback model {fallback.id}'s max_tokens "
                    f"of {fallback.max_tokens}",
                )
            )
    if options.max_budget_usd is not None:
        table = price_table()
        for model in (options.model, options.fallback_model):
            if model is not None and price_of(model, table) is None:
                problems.append(
                    ModelProblem(
                        field="max_budget_usd",
                        message=f"model {model!r} has no price in price table {table.version}, so a budget "
                        "could not be enforced; price it (PRICE_TABLE_JSON) or remove max_budget_usd",
                    )
                )
    return problems


def check_model_options(options: SdkOptions) -> None:
    """422 naming the field for each rule the options break."""
    problems = model_problems(options)
    if problems:
        raise ValidationFailedError(
            problems[0].message,
            details=[
                {"loc": ["body", "sdk_options", p.field], "msg": p.message, "type": "model_options"}
                for p in problems
            ],
        )
