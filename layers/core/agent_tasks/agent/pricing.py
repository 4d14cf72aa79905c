"""What a model call costs: a price table per model family, in USD per million tokens.

Prices are Anthropic's list prices for the standard (non-batch) API with the standard
200K context window. Cache writes are priced at the 5-minute cache rate (1.25x input),
the only cache TTL the loop uses. A model not in the table has no price: `cost_usd`
returns None and the caller says so, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent_tasks.models.transcript import Usage

MILLION = 1_000_000


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float


PRICES: dict[str, ModelPrice] = {
    "claude-opus-4-5": ModelPrice(input=5.00, output=25.00, cache_write=6.25, cache_read=0.50),
    "claude-opus-4-1": ModelPrice(input=15.00, output=75.00, cache_write=18.75, cache_read=1.50),
    "claude-opus-4": ModelPrice(input=15.00, output=75.00, cache_write=18.75, cache_read=1.50),
    "claude-sonnet-4-5": ModelPrice(input=3.00, output=15.00, cache_write=3.75, cache_read=0.30),
    "claude-sonnet-4": ModelPrice(input=3.00, output=15.00, cache_write=3.75, cache_read=0.30),
    "claude-3-7-sonnet": ModelPrice(input=3.00, output=15.00, cache_write=3.75, cache_read=0.30),
    "claude-haiku-4-5": ModelPrice(input=1.00, output=5.00, cache_write=1.25, cache_read=0.10),
    "claude-3-5-haiku": ModelPrice(input=0.80, output=4.00, cache_write=1.00, cache_read=0.08),
    "claude-3-haiku": ModelPrice(input=0.25, output=1.25, cache_write=0.30, cache_read=0.03),
}

# Other spellings of the same family.
FAMILY_ALIASES: dict[str, str] = {
    "claude-opus-4-0": "claude-opus-4",
    "claude-sonnet-4-0": "claude-sonnet-4",
}

# Bedrock ids ("us.anthropic.claude-sonnet-4-5-20250929-v1:0"), Vertex ids
# ("claude-sonnet-4-5@20250929"), dated ids ("claude-sonnet-4-5-20250929") and "-latest".
_REGION_PREFIX = re.compile(r"^(?:[a-z]{2,6}\.)?anthropic\.")
_VERSION_SUFFIX = re.compile(r"-v\d+(?::\d+)?$")
_DATE_SUFFIX = re.compile(r"(?:-|@)\d{8}$")


def model_family(model: str) -> str | None:
    """The price table key for a model id, or None when the table has no price for it."""
    name = model.strip().lower()
    name = _REGION_PREFIX.sub("", name)
    name = _VERSION_SUFFIX.sub("", name)
    name = name.removesuffix("-latest")
    name = _DATE_SUFFIX.sub("", name)
    name = FAMILY_ALIASES.get(name, name)
    return name if name in PRICES else None


def price_of(model: str) -> ModelPrice | None:
    family = model_family(model)
    return PRICES[family] if family else None


def cost_usd(model: str, usage: Usage) -> float | None:
    """USD cost of `usage` on `model`; None when the model has no price in the table."""
    price = price_of(model)
    if price is None:
        return None
    total = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_creation_input_tokens * price.cache_write
        + usage.cache_read_input_tokens * price.cache_read
    ) / MILLION
    return round(total, 8)
