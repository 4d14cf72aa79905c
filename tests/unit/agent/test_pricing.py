"""Prices as dated data: every priced model's cost computed by hand from the data file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pytest

from agent_tasks.agent.pricing import PriceTableError, cost_usd, load_price_table, model_family, price_table
from agent_tasks.models.transcript import Usage

USAGE = Usage(
    input_tokens=1000,
    output_tokens=500,
    cache_read_input_tokens=2000,
    cache_creation_input_tokens=400,
    cache_creation_1h_input_tokens=100,
)
DATA: dict[str, Any] = json.loads(
    resources.files("agent_tasks.agent").joinpath("data/prices.json").read_text(encoding="utf-8")
)
PRICED = sorted(DATA["models"])
CURRENT = [
    "claude-sonnet-5-5",
    "claude-opus-5-5",
    "claude-haiku-5-5",
    "claude-sonnet-5",
    "claude-opus-5",
    "claude-opus-4-8",
    "claude-opus-4-7",
    "claude-opus-4-6",
    "claude-opus-4-5",
    "claude-sonnet-4-6",
    "claude-haiku-4-5",
    "claude-fable-5-2",
    "claude-mythos-5-2",
    "claude-fable-5-1",
    "claude-mythos-5-1",
    "claude-fable-5",
    "claude-mythos-5",
]


def by_hand(model: str, usage: Usage) -> float:
    """The cost from the data file's newest entry, written out term by term."""
    entry = max(DATA["models"][model], key=lambda e: e["effective_from"])
    prompt = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
    tier = entry.get("long_context")
    prices = tier if tier and prompt > tier["above_prompt_tokens"] else entry
    five_minute = usage.cache_creation_input_tokens - usage.cache_creation_1h_input_tokens
    return (
        usage.input_tokens * prices["input"]
        + usage.output_tokens * prices["output"]
        + five_minute * prices["cache_write_5m"]
        + usage.cache_creation_1h_input_tokens * prices["cache_write_1h"]
        + usage.cache_read_input_tokens * prices["cache_read"]
    ) / 1_000_000


def test_every_current_model_is_priced_with_a_source_and_a_date() -> None:
    assert set(CURRENT) <= set(PRICED)
    for model in PRICED:
        for entry in DATA["models"][model]:
            assert entry["source"].strip()
            assert datetime.fromisoformat(entry["effective_from"])
            assert entry["cache_write_1h"] >= entry["cache_write_5m"]


@pytest.mark.parametrize("model", PRICED)
def test_cost_matches_the_data_file_by_hand(model: str) -> None:
    assert cost_usd(model, USAGE) == pytest.approx(by_hand(model, USAGE))


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        # 1000*2 + 500*10 + 300*2.50 + 100*4 + 2000*0.20 = 8,550 per million
        ("claude-sonnet-5-5", 0.00855),
        # 1000*4 + 500*20 + 300*5 + 100*8 + 2000*0.20 = 16,700 per million
        ("claude-opus-5-5", 0.0167),
        # 1000*10 + 500*50 + 300*12.50 + 100*20 + 2000*0.25 = 41,250 per million
        ("claude-fable-5-1", 0.04125),
        # 1000*0.10 + 500*0.50 + 300*0.125 + 100*0.20 + 2000*0.01 = 427.5 per million
        ("claude-haiku-5-5", 0.0004275),
    ],
)
def test_issue_figures(model: str, expected: float) -> None:
    assert cost_usd(model, USAGE) == pytest.approx(expected)


def test_haiku_5_5_long_context_tier_prices_every_token_of_the_request() -> None:
    # Given prompts of exactly 100K tokens (cache tokens included) and one token more
    at_limit = Usage(
        input_tokens=50_000,
        cache_read_input_tokens=40_000,
        cache_creation_input_tokens=10_000,
        output_tokens=1_000,
    )
    above = at_limit.model_copy(update={"input_tokens": 50_001})
    # Then the first is priced at the base tier, the second at the long-context tier on all tokens
    assert cost_usd("claude-haiku-5-5", at_limit) == pytest.approx(
        (50_000 * 0.10 + 40_000 * 0.01 + 10_000 * 0.125 + 1_000 * 0.50) / 1e6
    )
    assert cost_usd("claude-haiku-5-5", above) == pytest.approx(
        (50_001 * 0.50 + 40_000 * 0.05 + 10_000 * 0.625 + 1_000 * 2.50) / 1e6
    )


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-sonnet-4-0", "claude-sonnet-4"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("us.anthropic.claude-sonnet-5-5-v1:0", "claude-sonnet-5-5"),
        ("anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"),
        ("claude-opus-4-5@20251101", "claude-opus-4-5"),
    ],
)
def test_dated_and_platform_ids_match_their_family(model: str, family: str) -> None:
    assert model_family(model) == family


@pytest.mark.parametrize("model", ["claude-mystery-9", "gpt-4o", "claude-sonnet", "claude-sonnet-4-5-extra"])
def test_unknown_models_have_no_price_never_a_guess(model: str) -> None:
    assert model_family(model) is None
    assert cost_usd(model, USAGE) is None


def test_an_entry_applies_from_its_date() -> None:
    table = price_table()
    assert table.entry("claude-haiku-5-5", at=datetime(2026, 10, 6, tzinfo=UTC)) is None
    assert table.entry("claude-haiku-5-5", at=datetime(2026, 10, 7, tzinfo=UTC)) is not None


def test_a_deployment_overrides_prices_without_a_code_change() -> None:
    # Given an override that re-prices one model and removes another's price
    override = json.dumps(
        {
            "version": "acme-1",
            "models": {
                "claude-sonnet-5-5": [
                    {
                        "effective_from": "2026-01-01",
                        "input": 1,
                        "output": 1,
                        "cache_write_5m": 1,
                        "cache_write_1h": 1,
                        "cache_read": 1,
                        "source": "negotiated rate",
                    }
                ],
                "claude-opus-5": [],
            },
        }
    )
    table = load_price_table(override)
    # Then the version says so, and costs follow it
    assert table.version == "2026-12-02+acme-1"
    assert cost_usd("claude-sonnet-5-5", Usage(input_tokens=1_000_000), table) == pytest.approx(1.0)
    assert cost_usd("claude-opus-5", USAGE, table) is None
    assert cost_usd("claude-haiku-4-5", USAGE, table) == pytest.approx(by_hand("claude-haiku-4-5", USAGE))


@pytest.mark.parametrize("override", ["not json", "[]", '{"models": {"x": [{"input": -1}]}}'])
def test_a_bad_override_is_refused_with_the_reason(override: str) -> None:
    with pytest.raises(PriceTableError):
        load_price_table(override)


def test_zero_usage_costs_nothing() -> None:
    assert cost_usd("claude-sonnet-5-5", Usage()) == 0.0


def test_a_bad_override_fails_the_settings_at_cold_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from agent_tasks.settings import Settings

    monkeypatch.setenv("PRICE_TABLE_JSON", '{"models": {"claude-sonnet-5-5": [{"input": 1}]}}')
    with pytest.raises(ValidationError, match="PRICE_TABLE_JSON"):
        Settings()
