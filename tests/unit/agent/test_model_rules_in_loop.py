"""The 5.x request rules in the loop, with the real anthropic client against the local server:
thinking blocks, effort, fallback, budgets on every priced model, structured output."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from agent_tasks.agent.model_catalog import ModelCapabilities, ModelCatalogue, ModelEntry
from agent_tasks.agent.pricing import price_table
from agent_tasks.agent.structured import REPAIR_PREFIX
from agent_tasks.models.transcript import Usage
from tests.support.messages_server import thinking_block, usage_figures
from tests.unit.agent.conftest import LoopHarness
from tests.unit.agent.test_pricing import PRICED, by_hand

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"total": {"type": "number"}},
    "required": ["total"],
    "additionalProperties": False,
}


def blocks_of(request: Any, role: str, kind: str) -> list[dict[str, Any]]:
    return [
        block
        for message in request.messages
        if message["role"] == role
        for block in message["content"]
        if block["type"] == kind
    ]


# ---------------------------------------------------------------- prices and budgets


@pytest.mark.parametrize("model", PRICED)
def test_every_priced_model_is_costed_from_the_data_file_and_its_budget_stops_the_run(
    loop: LoopHarness, model: str
) -> None:
    # Given a first turn of 10,000 input and 5,000 output tokens (at least $0.0035 on any model)
    loop.server.models = []  # no lifecycle rules: retired models are priced for past runs too
    loop.server.reply_tool_use(
        ("list_files", {}), usage=usage_figures(input_tokens=10_000, output_tokens=5_000)
    )
    loop.server.reply_text("never sent")

    # When the loop runs on `model` with a $0.001 budget
    result = loop.run(model=model, max_budget_usd=0.001)

    # Then the cost is the data file's, by hand, and the budget stopped it before the second call
    expected = by_hand(model, Usage(input_tokens=10_000, output_tokens=5_000))
    assert result.outcome == "budget_exceeded"
    assert result.state.cost_usd == pytest.approx(expected)
    assert result.state.model_usage[model].cost_usd == pytest.approx(expected)
    assert result.state.price_table_version == price_table().version
    assert len(loop.server.requests) == 1
    assert loop.server.requests[0].body["model"] == model


# ---------------------------------------------------------------- thinking blocks


def test_thinking_blocks_go_back_unchanged_across_turns_and_invocations(loop: LoopHarness) -> None:
    # Given a model that thinks before each tool call (the server refuses any change to those blocks)
    loop.server.reply_tool_use(("list_files", {}), thinking="First, see what is there.")
    loop.server.reply_tool_use(("write_file", {"path": "a.txt", "content": "1"}), thinking="Now write it.")
    loop.server.reply_text("Done.")

    # When the first invocation runs out of time after the first tool results, and two more resume
    first = loop.run(deadline=lambda: 1000.0 if len(loop.stored) < 3 else 1.0)
    second = loop.run(deadline=lambda: 1000.0 if len(loop.stored) < 5 else 1.0)
    third = loop.run()

    # Then the run completed, and every request carried the earlier thinking blocks exactly as issued
    assert [first.outcome, second.outcome, third.outcome] == ["continue", "continue", "completed"]
    assert loop.server.refused == []
    assert all("tool_choice" not in r.body for r in loop.server.requests)  # never forced (5.5 rejects it)
    assert blocks_of(loop.server.requests[1], "assistant", "thinking") == [
        thinking_block("First, see what is there.")
    ]
    assert blocks_of(loop.server.requests[2], "assistant", "thinking") == [
        thinking_block("First, see what is there."),
        thinking_block("Now write it."),
    ]
    assert loop.stored[1].content[0] == thinking_block("First, see what is there.")


def test_the_server_refuses_a_changed_thinking_block(loop: LoopHarness) -> None:
    # Given a stored turn whose thinking block was altered after the model wrote it
    loop.server.reply_tool_use(("list_files", {}), thinking="Original thought.")
    loop.run(deadline=lambda: 1000.0 if len(loop.stored) < 3 else 1.0)
    loop.stored[1].content[0]["thinking"] = "Edited thought."
    loop.server.reply_text("never sent")

    # When the loop resumes
    result = loop.run()

    # Then the API refuses it (which is why the loop must never change them)
    assert result.outcome == "error"
    assert "invalid signature" in (result.error or "")


# ---------------------------------------------------------------- effort and temperature


def test_effort_is_sent_as_output_config_only_where_the_model_supports_it(loop: LoopHarness) -> None:
    loop.server.reply_text("ok")
    loop.server.reply_text("ok")
    loop.run(model="claude-sonnet-5-5", effort="max")
    loop.stored.clear()
    loop.run(model="claude-haiku-4-5", effort="max")
    assert loop.server.requests[0].body["output_config"] == {"effort": "max"}
    assert "output_config" not in loop.server.requests[1].body
    assert loop.server.refused == []


def test_the_server_refuses_a_temperature_the_model_does_not_take(loop: LoopHarness) -> None:
    # Given a task whose model accepts a temperature, and one whose model refuses it
    loop.server.reply_text("ok")
    accepted = loop.run(model="claude-sonnet-4-6", temperature=0.2)
    loop.stored.clear()

    # When the refusing model is called with it through the fallback path (the loop drops it)
    loop.server.reply_error(529)
    loop.server.reply_text("ok")
    fallen_back = loop.run(model="claude-sonnet-4-6", fallback_model="claude-sonnet-5-5", temperature=0.2)

    # Then the first request carried it and the fallback's did not, so neither was refused
    assert accepted.outcome == fallen_back.outcome == "completed"
    assert loop.server.requests[0].body["temperature"] == 0.2
    assert "temperature" not in loop.server.requests[2].body
    assert loop.server.refused == []


# ---------------------------------------------------------------- fallback


def test_an_overloaded_model_falls_back_and_usage_is_kept_per_model(loop: LoopHarness) -> None:
    # Given a primary that answers one turn (thinking first), then is overloaded (529 after retries)
    loop.server.reply_tool_use(
        ("list_files", {}), thinking="Look first.", usage=usage_figures(input_tokens=1000, output_tokens=100)
    )
    loop.server.reply_error(529)
    loop.server.reply_text(
        "Answered by the fallback.", usage=usage_figures(input_tokens=2000, output_tokens=200)
    )

    # When the loop runs with a fallback model
    result = loop.run(model="claude-sonnet-5-5", fallback_model="claude-haiku-4-5")

    # Then the fallback answered, each turn records its model, and usage and cost are kept per model
    assert result.outcome == "completed", result.error
    assert result.final_text == "Answered by the fallback."
    assert [r.body["model"] for r in loop.server.requests] == [
        "claude-sonnet-5-5",
        "claude-sonnet-5-5",
        "claude-haiku-4-5",
    ]
    assert [m.model for m in loop.stored if m.role == "assistant"] == [
        "claude-sonnet-5-5",
        "claude-haiku-4-5",
    ]
    assert result.state.active_model == "claude-haiku-4-5"
    usage = result.state.model_usage
    assert set(usage) == {"claude-sonnet-5-5", "claude-haiku-4-5"}
    assert usage["claude-sonnet-5-5"].turns == 1
    assert usage["claude-sonnet-5-5"].cost_usd == pytest.approx((1000 * 2 + 100 * 10) / 1e6)
    assert usage["claude-haiku-4-5"].cost_usd == pytest.approx((2000 * 1 + 200 * 5) / 1e6)
    assert result.state.cost_usd == pytest.approx(0.003 + 0.003)
    # And the primary's thinking blocks (bound to it) were not sent to the fallback
    assert blocks_of(loop.server.requests[2], "assistant", "thinking") == []
    assert loop.server.refused == []


def test_without_a_fallback_an_overloaded_model_is_an_error(loop: LoopHarness) -> None:
    loop.server.reply_error(529)
    result = loop.run(model="claude-sonnet-5-5")
    assert result.outcome == "error"
    assert "529" in (result.error or "")


def test_the_fallback_is_kept_by_a_later_invocation(loop: LoopHarness) -> None:
    loop.server.reply_error(529)
    loop.server.reply_tool_use(("list_files", {}))
    loop.server.reply_text("Still on the fallback.")
    first = loop.run(
        model="claude-sonnet-5-5",
        fallback_model="claude-opus-5-5",
        deadline=lambda: 1000.0 if len(loop.stored) < 3 else 1.0,
    )
    second = loop.run(model="claude-sonnet-5-5", fallback_model="claude-opus-5-5")
    assert (first.outcome, second.outcome) == ("continue", "completed")
    assert loop.server.requests[-1].body["model"] == "claude-opus-5-5"


# ---------------------------------------------------------------- structured output


def test_structured_output_uses_output_config_format_where_supported(loop: LoopHarness) -> None:
    loop.server.reply_text('{"total": 4}')
    result = loop.run(model="claude-sonnet-5-5", output_schema=SCHEMA, system_prompt="Be brief.")
    assert result.outcome == "completed"
    assert result.structured_output == {"total": 4}
    body = loop.server.requests[0].body
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert body["system"] == "Be brief."


def plain_catalogue() -> ModelCatalogue:
    """A catalogue with a model that has no structured outputs."""
    return ModelCatalogue(
        taken_at=datetime(2026, 12, 2, tzinfo=UTC),
        source="test",
        models=[
            ModelEntry(
                id="claude-plain-1",
                display_name="Plain",
                lifecycle="active",
                capabilities=ModelCapabilities(structured_outputs=False),
            )
        ],
    )


def test_structured_output_elsewhere_is_asked_for_validated_and_repaired_once(loop: LoopHarness) -> None:
    # Given a model without structured outputs whose first answer is prose, then valid JSON
    loop.server.reply_text("The total is 4.")
    loop.server.reply_text('```json\n{"total": 4}\n```')

    # When the loop runs with one turn allowed
    result = loop.run(model="claude-plain-1", output_schema=SCHEMA, catalogue=plain_catalogue(), max_turns=1)

    # Then the schema was asked for in the system prompt, one repair turn followed, and it validated
    assert result.outcome == "completed"
    assert result.structured_output == {"total": 4}
    first, second = loop.server.requests
    assert "output_config" not in first.body
    assert '"required":["total"]' in first.body["system"]
    repair = second.messages[-1]["content"][0]["text"]
    assert repair.startswith(REPAIR_PREFIX)
    assert "not JSON" in repair
    assert result.state.structured_output_repairs == 1


def test_structured_output_that_never_validates_fails_with_the_errors(loop: LoopHarness) -> None:
    loop.server.reply_text('{"total": "four"}')
    loop.server.reply_text('{"total": "still four", "extra": 1}')
    result = loop.run(model="claude-sonnet-5-5", output_schema=SCHEMA)
    assert result.outcome == "error"
    assert result.structured_output is None
    assert "does not validate against output_schema" in (result.error or "")
    assert "total: 'still four' is not of type 'number'" in (result.error or "")
    assert len(loop.server.requests) == 2


# ---------------------------------------------------------------- the Models API


def test_the_catalogue_is_read_from_the_models_api_with_the_real_client(loop: LoopHarness) -> None:
    from agent_tasks.agent.model_catalog import catalogue_from_api
    from agent_tasks.agent.providers import AnthropicProvider

    provider = AnthropicProvider(api_key="sk-ant-test", base_url=loop.server.url, max_retries=0)
    catalogue = catalogue_from_api(provider.list_models(), taken_at=datetime.now(UTC))
    sonnet = catalogue.get("claude-sonnet-5-5")
    assert sonnet is not None
    assert sonnet.lifecycle == "active"
    assert sonnet.max_tokens == 128_000
    assert sonnet.capabilities.structured_outputs
    assert "max" in sonnet.capabilities.effort
    assert not sonnet.capabilities.temperature  # a request rule kept from the snapshot
    retired = catalogue.get("claude-sonnet-4-5")
    assert retired is not None
    assert retired.lifecycle == "retired"
    assert retired.retires_at is not None
    assert retired.retires_at.isoformat() == "2026-11-30"
    assert catalogue.replacement_for(retired).id == "claude-sonnet-5-5"  # type: ignore[union-attr]
    assert len(catalogue.models) == len(loop.server.models)  # retired ones too
