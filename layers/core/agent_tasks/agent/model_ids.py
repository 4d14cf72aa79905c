"""Model id spellings: one base id for the price table and the model catalogue."""

from __future__ import annotations

import functools
import re

# Other spellings of the same model.
ALIASES: dict[str, str] = {
    "claude-opus-4-0": "claude-opus-4",
    "claude-sonnet-4-0": "claude-sonnet-4",
}

# Bedrock ids ("us.anthropic.claude-sonnet-4-5-20250929-v1:0"), Vertex ids
# ("claude-sonnet-4-5@20250929"), dated ids ("claude-sonnet-4-5-20250929") and "-latest".
_REGION_PREFIX = re.compile(r"^(?:[a-z]{2,6}\.)?anthropic\.")
_VERSION_SUFFIX = re.compile(r"-v\d+(?::\d+)?$")
_DATE_SUFFIX = re.compile(r"(?:-|@)\d{8}$")


@functools.lru_cache(maxsize=256)  # a handful of ids, asked once per stored message on every turn
def base_model_id(model: str) -> str:
    """`claude-sonnet-4-5` for every platform's or date's spelling of it."""
    name = model.strip().lower()
    name = _REGION_PREFIX.sub("", name)
    name = _VERSION_SUFFIX.sub("", name)
    name = name.removesuffix("-latest")
    name = _DATE_SUFFIX.sub("", name)
    return ALIASES.get(name, name)
