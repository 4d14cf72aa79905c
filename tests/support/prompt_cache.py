"""Prompt-cache accounting for the local Messages server, done the way the Messages API does it.

What the API documents (prompt caching guide) and this emulates:
- The prompt is the blocks in the order tools → system → messages; a `cache_control` marker on a
  block is a breakpoint, and the prefix up to and including it may be cached (per model).
- A lookup at a breakpoint checks that prefix and, walking back one block at a time, at most
  20 blocks before it; the longest cached prefix found is read from cache.
- A prefix shorter than the model's minimum cacheable length is never cached.
- An entry lives 5 minutes (`"ttl": "5m"`, the default) or an hour (`"ttl": "1h"`) and each hit
  refreshes it.
- Usage says `cache_read_input_tokens` (read), `cache_creation_input_tokens` (written now, with
  the split by TTL in `cache_creation`) and `input_tokens` (the rest, after the last breakpoint).

Tokens are estimated as one per four characters of each block's canonical JSON: the real
tokenizer is not available offline, and the shares this accounting reports don't depend on it.
The clock is injectable, so tests move time instead of sleeping.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LOOKBACK_BLOCKS = 20
TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
# Minimum cacheable prompt length by model family (prompt caching guide); unknown models get 1024.
MINIMUM_CACHEABLE_TOKENS = {
    "claude-opus-4-5": 4096,
    "claude-haiku-4-5": 4096,
    "claude-haiku-3-5": 2048,
    "claude-3-haiku": 2048,
}
DEFAULT_MINIMUM_CACHEABLE_TOKENS = 1024


def minimum_cacheable_tokens(model: str) -> int:
    for family, minimum in MINIMUM_CACHEABLE_TOKENS.items():
        if model.startswith(family):
            return minimum
    return DEFAULT_MINIMUM_CACHEABLE_TOKENS


def prompt_blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's blocks in the order the API caches them: tools, system, then message content."""
    blocks: list[dict[str, Any]] = [dict(tool) for tool in body.get("tools", [])]
    system = body.get("system")
    if isinstance(system, str) and system:
        blocks.append({"type": "text", "text": system})
    elif isinstance(system, list):
        blocks.extend(dict(block) for block in system)
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            blocks.append({"type": "text", "text": content, "_role": message.get("role")})
        else:
            blocks.extend({**block, "_role": message.get("role")} for block in content or [])
    return blocks


def estimated_tokens(block: dict[str, Any]) -> int:
    return max(1, math.ceil(len(_canonical(block)) / 4))


def _canonical(block: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in block.items() if k != "cache_control"}, sort_keys=True)


@dataclass
class _Entry:
    expires_at: float
    ttl: str


@dataclass(frozen=True)
class CacheUsage:
    input_tokens: int
    cache_read_input_tokens: int
    cache_creation_5m: int
    cache_creation_1h: int

    @property
    def cache_creation_input_tokens(self) -> int:
        return self.cache_creation_5m + self.cache_creation_1h

    def as_usage(self, output_tokens: int) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": output_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_creation_5m,
                "ephemeral_1h_input_tokens": self.cache_creation_1h,
            },
        }


class PromptCache:
    """The server-side cache of prompt prefixes, per model, with the API's lookup and TTL rules."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._entries: dict[str, _Entry] = {}  # by model-qualified prefix hash
        self._lock = threading.Lock()

    def account(self, body: dict[str, Any]) -> CacheUsage:
        model = str(body.get("model", ""))
        blocks = prompt_blocks(body)
        cumulative, hashes = _prefixes(model, blocks)
        breakpoints = [i for i, block in enumerate(blocks) if isinstance(block.get("cache_control"), dict)]
        total = cumulative[-1] if cumulative else 0
        now = self.clock()
        with self._lock:
            hit = self._longest_hit(breakpoints, hashes, now)
            read = cumulative[hit] if hit is not None else 0
            written = {"5m": 0, "1h": 0}
            covered = read
            minimum = minimum_cacheable_tokens(model)
            for index in breakpoints:
                if (hit is not None and index <= hit) or cumulative[index] < minimum:
                    continue
                ttl = str(blocks[index]["cache_control"].get("ttl", "5m"))
                ttl = ttl if ttl in TTL_SECONDS else "5m"
                written[ttl] += cumulative[index] - covered
                covered = cumulative[index]
                self._entries[hashes[index]] = _Entry(now + TTL_SECONDS[ttl], ttl)
        return CacheUsage(
            input_tokens=total - covered,
            cache_read_input_tokens=read,
            cache_creation_5m=written["5m"],
            cache_creation_1h=written["1h"],
        )

    def _longest_hit(self, breakpoints: list[int], hashes: list[str], now: float) -> int | None:
        best: int | None = None
        for index in breakpoints:
            for candidate in range(index, max(-1, index - LOOKBACK_BLOCKS - 1), -1):
                entry = self._entries.get(hashes[candidate])
                if entry is not None and entry.expires_at > now:
                    if best is None or candidate > best:
                        best = candidate
                    break
        if best is not None:  # a hit refreshes the entry's lifetime
            entry = self._entries[hashes[best]]
            entry.expires_at = now + TTL_SECONDS[entry.ttl]
        return best


def _prefixes(model: str, blocks: list[dict[str, Any]]) -> tuple[list[int], list[str]]:
    """Tokens up to and including each block, and a hash naming each prefix (model-qualified)."""
    digest = hashlib.sha256(model.encode())
    cumulative: list[int] = []
    hashes: list[str] = []
    running = 0
    for block in blocks:
        digest.update(_canonical(block).encode())
        running += estimated_tokens(block)
        cumulative.append(running)
        hashes.append(f"{model}:{digest.copy().hexdigest()}")
    return cumulative, hashes
