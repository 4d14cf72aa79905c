"""Prompt-cache reuse of a 20-turn tool-using run, as the Messages API would account it.

Run: .venv/bin/python -m tests.bench.bench_prompt_cache

The real loop and the real `anthropic` client run against the local Messages server with its
prompt-cache accounting on (tests/support/prompt_cache.py: prefix to a breakpoint, 20-block
lookback, TTL, minimum length). The run: a 2,000-token system prompt, the file tools, 19 turns
that each read a 3 KB file (one of them reads twelve files at once), then an answer. Reported:
the share of input tokens read from cache on turns 2 to 20, and what caching saves against the
same run without it, at the list prices of `PRICE_MODEL`. The same requests are replayed with
only the newest breakpoint (the loop before the second marker) for comparison.
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

from agent_tasks.agent.loop import run_agent
from agent_tasks.agent.model_catalog import snapshot
from agent_tasks.agent.pricing import price_table
from agent_tasks.agent.providers import AnthropicProvider
from agent_tasks.models.sdk_options import SdkOptions
from agent_tasks.models.transcript import AgentRunState, TranscriptMessage
from agent_tasks.observability import logger
from agent_tasks.settings import Settings
from tests.support.messages_server import MessagesServer, RecordedRequest, Reply, text_reply, tool_use_reply
from tests.support.prompt_cache import CacheUsage, PromptCache

TURNS = 20
WIDE_TURN = 7  # this turn reads twelve files at once: 24 new blocks, past the 20-block lookback
OUTPUT_TOKENS_PER_TURN = 300
PRICE_MODEL = "claude-sonnet-5-5"
# USD per million tokens: input, output, 5-minute cache write, cache read, from the shipped price data.
_PRICE = price_table().models[PRICE_MODEL][-1]
PRICES: dict[str, float] = {
    name: float(getattr(_PRICE, name)) for name in ("input", "output", "cache_write_5m", "cache_read")
}
SYSTEM_PROMPT = (
    "You are the release auditor. Read the repository's change notes one file at a time, "
    "compare each with the previous release, and list every behaviour change with its risk. "
) * 45


def _responder(turns: int, tool_call: tuple[str, dict[str, Any]] | None = None) -> Any:
    """Reads a file a turn (twelve at once on WIDE_TURN), or makes `tool_call` every turn."""
    calls = 0

    def respond(_request: RecordedRequest) -> Reply:
        nonlocal calls
        calls += 1
        usage = {"input_tokens": 0, "output_tokens": OUTPUT_TOKENS_PER_TURN}
        if calls >= turns:
            return text_reply("Audit complete: three behaviour changes, one risky.", usage=usage)
        if tool_call is not None:
            return tool_use_reply(tool_call, text="Next check.", usage=usage)
        if calls == WIDE_TURN:
            reads = [("read_file", {"path": f"notes-{i}.md"}) for i in range(12)]
            return tool_use_reply(*reads, text="Reading the rest together.", usage=usage)
        return tool_use_reply(
            ("read_file", {"path": f"notes-{calls % 12}.md"}), text="Next file.", usage=usage
        )

    return respond


def _cost(usage: CacheUsage, *, cached: bool) -> float:
    total_input = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
    if not cached:
        return (total_input * PRICES["input"] + OUTPUT_TOKENS_PER_TURN * PRICES["output"]) / 1e6
    return (
        usage.input_tokens * PRICES["input"]
        + usage.cache_creation_input_tokens * PRICES["cache_write_5m"]
        + usage.cache_read_input_tokens * PRICES["cache_read"]
        + OUTPUT_TOKENS_PER_TURN * PRICES["output"]
    ) / 1e6


def _summary(per_turn: list[CacheUsage]) -> dict[str, Any]:
    after_first = per_turn[1:]
    read = sum(u.cache_read_input_tokens for u in after_first)
    total = sum(
        u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens for u in after_first
    )
    with_cache = sum(_cost(u, cached=True) for u in per_turn)
    without = sum(_cost(u, cached=False) for u in per_turn)
    misses = [i + 1 for i, u in enumerate(per_turn) if i > 0 and u.cache_read_input_tokens == 0]
    return {
        "read_share_after_turn_1": round(read / total, 4) if total else 0.0,
        "input_tokens_after_turn_1": total,
        "cost_usd_with_cache": round(with_cache, 6),
        "cost_usd_without_cache": round(without, 6),
        "saved_share": round(1 - with_cache / without, 4) if without else 0.0,
        "turns_missing_the_cache": misses,
    }


def _newest_marker_only(body: dict[str, Any]) -> dict[str, Any]:
    """The request as the loop built it before the second marker: only the newest user block marked."""
    replay = copy.deepcopy(body)
    for message in replay["messages"]:
        for block in message["content"]:
            block.pop("cache_control", None)
    last = replay["messages"][-1]["content"][-1]
    last["cache_control"] = {"type": "ephemeral"}
    return replay


def measure() -> dict[str, Any]:
    logger.setLevel("WARNING")
    with (
        MessagesServer(prompt_cache=PromptCache(clock=lambda: 0.0)) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        workdir = Path(tmp)
        for index in range(12):
            (workdir / f"notes-{index}.md").write_text(
                f"# Change notes {index}\n" + "- changed a default\n" * 150
            )
        server.responder = _responder(TURNS)
        stored: list[TranscriptMessage] = []
        result = run_agent(
            prompt="Audit the change notes in this folder.",
            options=SdkOptions(max_turns=TURNS, system_prompt=SYSTEM_PROMPT),
            allowed_tools=["read_file", "list_files", "grep"],
            disallowed_tools=[],
            transcript=[],
            state=AgentRunState(),
            workdir=workdir,
            on_message=stored.append,
            deadline=lambda: 3600.0,
            provider=AnthropicProvider(api_key="sk-ant-bench", base_url=server.url, max_retries=0),
            settings=Settings(),
            catalogue=snapshot(),  # no table here: the shipped catalogue
        )
        if result.outcome != "completed" or result.state.turns != TURNS:
            raise RuntimeError(f"the run did not complete its {TURNS} turns: {result.outcome}")
        bodies = [request.body for request in server.requests]
    now = PromptCache(clock=lambda: 0.0)
    before = PromptCache(clock=lambda: 0.0)
    return {
        "turns": TURNS,
        "price_model": PRICE_MODEL,
        "prices_usd_per_mtok": PRICES,
        "two_markers": _summary([now.account(body) for body in bodies]),
        "newest_marker_only": _summary([before.account(_newest_marker_only(body)) for body in bodies]),
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))


TARGET_READ_SHARE = 0.85
Row = tuple[str, str, str, str]


def rows(result: dict[str, Any]) -> list[Row]:
    now, before = result["two_markers"], result["newest_marker_only"]
    missing = now["turns_missing_the_cache"] or "none"
    return [
        (
            "9 prompt cache",
            f"input read from cache, turns 2-{result['turns']}",
            f"{now['read_share_after_turn_1']:.1%}",
            f"target >= {TARGET_READ_SHARE:.0%}; newest marker only: {before['read_share_after_turn_1']:.1%}",
        ),
        (
            "",
            f"model cost with / without caching ({result['price_model']})",
            f"${now['cost_usd_with_cache']:.4f} / ${now['cost_usd_without_cache']:.4f}",
            f"saves {now['saved_share']:.0%}; turns missing the cache: {missing}",
        ),
    ]


def check(result: dict[str, Any]) -> list[str]:
    """The share is exact (token accounting, not timing): below the target fails the bench."""
    share = result["two_markers"]["read_share_after_turn_1"]
    return (
        []
        if share >= TARGET_READ_SHARE
        else [f"prompt cache read share {share:.1%} < {TARGET_READ_SHARE:.0%}"]
    )
