"""The local Messages server's prompt-cache accounting follows the API's documented rules."""

from __future__ import annotations

from typing import Any

from tests.support.prompt_cache import PromptCache, estimated_tokens, prompt_blocks

MODEL = "claude-sonnet-5-5"
LONG_SYSTEM = "You check deployments. " * 400  # ~2,300 tokens: above the 1,024 minimum


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _turn(index: int) -> list[dict[str, Any]]:
    return [
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": f"t{index}", "name": "bash", "input": {}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": f"t{index}", "content": "ok " * 50}],
        },
    ]


def _request(turns: int, *, breakpoints: tuple[int, ...] = (-1,), ttl: str | None = None) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": "Check prod."}]}]
    for index in range(turns):
        messages.extend(_turn(index))
    user_positions = [i for i, message in enumerate(messages) if message["role"] == "user"]
    for which in breakpoints:
        if -which > len(user_positions):
            continue
        last = messages[user_positions[which]]["content"][-1]
        last["cache_control"] = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    return {"model": MODEL, "system": LONG_SYSTEM, "messages": messages}


def _total(body: dict[str, Any]) -> int:
    return sum(estimated_tokens(block) for block in prompt_blocks(body))


def test_the_first_request_writes_its_prefix_and_the_next_reads_it() -> None:
    # Given an empty cache
    cache = PromptCache(FakeClock())
    # When a prompt with a breakpoint at its end is sent, then the same prompt one turn longer
    first = cache.account(_request(0))
    second_body = _request(1)
    second = cache.account(second_body)
    # Then the first writes everything up to the breakpoint and the second reads exactly that
    assert first.cache_read_input_tokens == 0
    assert first.cache_creation_input_tokens == _total(_request(0))
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_read_input_tokens + second.cache_creation_input_tokens == _total(second_body)
    assert second.input_tokens == 0


def test_an_entry_expires_after_five_minutes_unless_it_is_an_hour_entry() -> None:
    # Given a written prefix with the default TTL and one with the 1-hour TTL
    clock = FakeClock()
    cache = PromptCache(clock)
    cache.account(_request(0))
    hour = PromptCache(clock)
    hour.account(_request(0, ttl="1h"))
    # When six minutes pass
    clock.now += 360
    # Then the 5-minute entry is gone and the hour entry is read
    assert cache.account(_request(1)).cache_read_input_tokens == 0
    assert hour.account(_request(1, ttl="1h")).cache_read_input_tokens > 0


def test_a_prefix_below_the_minimum_is_never_cached() -> None:
    # Given a short prompt (below the model's 1,024-token minimum)
    cache = PromptCache(FakeClock())
    short = {
        "model": MODEL,
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}],
            }
        ],
    }
    # When it is sent twice
    cache.account(short)
    again = cache.account(short)
    # Then nothing is written or read: it is all input
    assert again.cache_read_input_tokens == 0
    assert again.cache_creation_input_tokens == 0
    assert again.input_tokens == _total(short)


def test_more_than_twenty_new_blocks_miss_one_breakpoint_but_hit_the_previous_turns_marker() -> None:
    # Given a cached prompt, then a turn that adds 24 blocks (12 parallel tool calls and their results)
    def wide(turns: int, breakpoints: tuple[int, ...]) -> dict[str, Any]:
        body = _request(turns, breakpoints=())
        calls = [{"type": "tool_use", "id": f"w{i}", "name": "bash", "input": {}} for i in range(12)]
        results = [{"type": "tool_result", "tool_use_id": f"w{i}", "content": "ok"} for i in range(12)]
        body["messages"] += [{"role": "assistant", "content": calls}, {"role": "user", "content": results}]
        users = [m for m in body["messages"] if m["role"] == "user"]
        for which in breakpoints:
            users[which]["content"][-1]["cache_control"] = {"type": "ephemeral"}
        return body

    one, two = PromptCache(FakeClock()), PromptCache(FakeClock())
    one.account(_request(2))
    two.account(_request(2))
    # When the wider prompt marks only its newest block, or also the previous turn's
    newest_only = one.account(wide(2, (-1,)))
    both = two.account(wide(2, (-1, -2)))
    # Then the lookback of 20 blocks misses the cached prefix, and the second marker finds it
    assert newest_only.cache_read_input_tokens == 0
    assert both.cache_read_input_tokens == _total(_request(2))
