"""A model call, its retries included, never outlives the time the step has left."""

from __future__ import annotations

import time

import pytest

from agent_tasks.agent.loop import LoopLimits
from agent_tasks.agent.model_api import ModelRequest
from agent_tasks.agent.providers import AnthropicProvider
from tests.support.messages_server import error_reply, text_reply
from tests.unit.agent.conftest import LoopHarness

LIMITS = LoopLimits(safety_margin_seconds=1.0, min_model_call_seconds=0.5, min_tool_seconds=0.1)


@pytest.fixture(autouse=True)
def warm_client(loop: LoopHarness) -> None:
    """The process's SDK client made and used once (a warm Lambda's), so a budget measures calls only."""
    loop.server.reply_text("warm")
    provider = AnthropicProvider(api_key="sk-ant-test", base_url=loop.server.url, max_retries=3)
    provider.create_message(
        ModelRequest(model="claude-sonnet-5-5", messages=[{"role": "user", "content": "hi"}], max_tokens=10)
    )
    loop.server.requests.clear()


def test_a_call_that_times_out_is_not_retried_past_the_deadline(loop: LoopHarness) -> None:
    # Given a model API slower than the step's time, and an SDK allowed 3 retries
    for _ in range(4):
        loop.server.reply_slow(10)
    ends_at = time.monotonic() + 3.0

    # When the loop calls it with 3 s left (1 s kept as margin)
    result = loop.run(deadline=lambda: ends_at - time.monotonic(), max_retries=3, limits=LIMITS)

    # Then one attempt was made, the run hands back `continue` to resume later, before the deadline
    assert len(loop.server.requests) == 1
    assert result.outcome == "continue"
    assert time.monotonic() < ends_at


def test_a_retry_whose_wait_would_pass_the_deadline_is_not_started(loop: LoopHarness) -> None:
    # Given an overloaded API asking to be retried in 5 s
    loop.server.enqueue(error_reply(529, retry_after="5", retry_after_ms=None), text_reply("late"))
    ends_at = time.monotonic() + 4.0

    # When the loop has 4 s left
    result = loop.run(deadline=lambda: ends_at - time.monotonic(), max_retries=3, limits=LIMITS)

    # Then it does not wait to retry: the error (retryable later, by the workflow) comes back at once
    assert len(loop.server.requests) == 1
    assert result.outcome == "error"
    assert "529" in (result.error or "")
    assert "after 0 retries" in (result.error or "")
    assert time.monotonic() < ends_at


def test_retries_still_happen_when_there_is_time(loop: LoopHarness) -> None:
    loop.server.enqueue(error_reply(529), error_reply(429), text_reply("done"))

    result = loop.run(max_retries=3, limits=LIMITS)

    assert result.outcome == "completed"
    assert len(loop.server.requests) == 3
