"""What a model call costs, from a dated price table shipped as data (`agent/data/prices.json`).

Each model has one or more dated entries (USD per million tokens: input, output, 5-minute and
1-hour cache writes, cache reads; an optional long-context tier that prices every token of a
request whose prompt is above a threshold) with the source the figures were read from. A
deployment overrides entries with the `PRICE_TABLE_JSON` setting (the same shape; its models
replace the shipped ones), without a code change. A model with no entry has no price: `cost_usd`
returns None and the caller says so, never a guess. The API imports this module: no `anthropic`.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import UTC, date, datetime
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, ValidationError

from agent_tasks.agent.model_ids import base_model_id

if TYPE_CHECKING:  # only annotations name it: the API's create checks prices, never a transcript
    from agent_tasks.models.transcript import Usage

MILLION = 1_000_000


class TokenPrices(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    input: NonNegativeFloat
    output: NonNegativeFloat
    cache_write_5m: NonNegativeFloat
    cache_write_1h: NonNegativeFloat
    cache_read: NonNegativeFloat


class LongContextTier(TokenPrices):
    above_prompt_tokens: Annotated[int, Field(ge=1)]


class PriceEntry(TokenPrices):
    effective_from: date
    long_context: LongContextTier | None = None
    source: Annotated[str, Field(min_length=1)]

    def prices_for(self, usage: Usage) -> TokenPrices:
        """The tier that applies to this request: long-context prices apply to all of its tokens."""
        prompt = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
        if self.long_context is not None and prompt > self.long_context.above_prompt_tokens:
            return self.long_context
        return self


class PriceTable(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    version: Annotated[str, Field(min_length=1, max_length=64)]
    models: dict[str, list[PriceEntry]]

    def entry(self, model: str, at: datetime | None = None) -> PriceEntry | None:
        """The entry in force for `model` at `at` (now by default), or None when it has no price."""
        entries = self.models.get(base_model_id(model))
        if not entries:
            return None
        day = (at or datetime.now(UTC)).date()
        in_force = [e for e in entries if e.effective_from <= day]
        return max(in_force, key=lambda e: e.effective_from) if in_force else None


class PriceTableError(ValueError):
    """The price table override is not valid."""


def _shipped() -> dict[str, Any]:
    text = resources.files("agent_tasks.agent").joinpath("data/prices.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.lru_cache(maxsize=8)
def load_price_table(override: str | None = None) -> PriceTable:
    """The shipped table, with the models of `override` (a JSON document of the same shape) replacing
    the shipped ones; the version then says it was overridden (and by which document)."""
    document = _shipped()
    if override:
        try:
            extra = json.loads(override)
            if not isinstance(extra, dict) or not isinstance(extra.get("models"), dict):
                raise PriceTableError('PRICE_TABLE_JSON must be a JSON object with a "models" object')
        except json.JSONDecodeError as err:
            raise PriceTableError(f"PRICE_TABLE_JSON is not JSON: {err}") from err
        digest = hashlib.sha256(override.encode()).hexdigest()[:8]
        label = str(extra.get("version") or digest)
        document = {
            "version": f"{document['version']}+{label}"[:64],
            "models": {**document["models"], **extra["models"]},
        }
    try:
        return PriceTable.model_validate(document)
    except ValidationError as err:
        raise PriceTableError(f"the price table is not valid: {err}") from err


def price_table() -> PriceTable:
    """The table this deployment uses (settings read once per process)."""
    from agent_tasks.settings import get_settings

    return load_price_table(get_settings().price_table_json or None)


def model_family(model: str) -> str | None:
    """The price table key for a model id, or None when the table has no price for it."""
    key = base_model_id(model)
    return key if key in price_table().models else None


def price_of(model: str, table: PriceTable | None = None) -> PriceEntry | None:
    return (table or price_table()).entry(model)


def cost_usd(model: str, usage: Usage, table: PriceTable | None = None) -> float | None:
    """USD cost of one request's `usage` on `model`; None when the model has no price in the table."""
    entry = price_of(model, table)
    if entry is None:
        return None
    prices = entry.prices_for(usage)
    one_hour = min(usage.cache_creation_1h_input_tokens, usage.cache_creation_input_tokens)
    total = (
        usage.input_tokens * prices.input
        + usage.output_tokens * prices.output
        + (usage.cache_creation_input_tokens - one_hour) * prices.cache_write_5m
        + one_hour * prices.cache_write_1h
        + usage.cache_read_input_tokens * prices.cache_read
    ) / MILLION
    return round(total, 8)
