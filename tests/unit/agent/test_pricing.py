from __future__ import annotations

import pytest

from agent_tasks.agent.pricing import cost_usd, model_family
from agent_tasks.models.transcript import Usage

USAGE = Usage(
    input_tokens=1000, output_tokens=500, cache_read_input_tokens=2000, cache_creation_input_tokens=400
)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        # 1000*3 + 500*15 + 2000*0.30 + 400*3.75 = 12,600 per million
        ("claude-sonnet-4-5", 0.0126),
        # 1000*1 + 500*5 + 2000*0.10 + 400*1.25 = 4,200 per million
        ("claude-haiku-4-5", 0.0042),
        # 1000*15 + 500*75 + 2000*1.50 + 400*18.75 = 63,000 per million
        ("claude-opus-4-1", 0.063),
        # 1000*5 + 500*25 + 2000*0.50 + 400*6.25 = 21,000 per million
        ("claude-opus-4-5", 0.021),
        # 1000*0.80 + 500*4 + 2000*0.08 + 400*1.00 = 3,360 per million
        ("claude-3-5-haiku", 0.00336),
    ],
)
def test_cost_from_the_price_table_includes_cache_tokens(model: str, expected: float) -> None:
    assert cost_usd(model, USAGE) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-sonnet-4-0", "claude-sonnet-4"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
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


def test_zero_usage_costs_nothing() -> None:
    assert cost_usd("claude-sonnet-4", Usage()) == 0.0
