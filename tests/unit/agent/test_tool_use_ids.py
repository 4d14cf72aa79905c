"""A model reply whose tool call id is not the Messages API's shape (letters, digits, _ and -, at most
64 here) ends the run cleanly, before any of its calls runs or waits for approval; the real anthropic
client against the local Messages API server."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from agent_tasks.models.transcript import MAX_TOOL_USE_ID_CHARS, PendingToolCall
from tests.support.messages_server import Reply, message_body
from tests.unit.agent.conftest import LoopHarness

BAD_IDS = {
    "huge": "toolu_" + "x" * 100_000,
    "one_too_long": "t" * (MAX_TOOL_USE_ID_CHARS + 1),
    "odd_characters": "toolu_01 $(rm -rf)/..",
    "empty": "",
    "not_a_string": 12345,
}


def _write_call(tool_use_id: Any, path: str = "out.txt") -> Reply:
    block = {
        "type": "tool_use",
        "id": tool_use_id,
        "name": "write_file",
        "input": {"path": path, "content": "x"},
    }
    return Reply(body=message_body([{"type": "text", "text": "Writing."}, block], stop_reason="tool_use"))


@pytest.mark.parametrize("tool_use_id", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_a_tool_call_with_an_id_not_of_the_apis_shape_ends_the_run_before_it_runs(
    loop: LoopHarness, tool_use_id: Any
) -> None:
    # Given a model that asks for a file to be written under an id the API would never make
    loop.server.enqueue(_write_call(tool_use_id))
    loop.server.reply_text("Done.")
    # When the loop runs
    result = loop.run("Write the file.", allowed=["write_file"])
    # Then the run ends in error, saying why, and the tool never ran
    assert result.outcome == "error"
    assert result.error is not None
    assert "the model's reply was refused: a tool call's id" in result.error
    assert len(result.error) < 400  # the id is quoted by its start only
    assert not (loop.workdir / "out.txt").exists()
    assert result.tool_calls == []
    # And the reply is kept without its tool call (its usage still counts), nothing more was asked
    reply = loop.stored[-1]
    assert reply.role == "assistant"
    assert [b["type"] for b in reply.content] == ["text", "text"]
    assert "was refused" in reply.content[-1]["text"]
    assert reply.usage is not None
    assert reply.usage.output_tokens > 0
    assert len(loop.server.requests) == 1


def test_a_gated_call_with_a_huge_id_does_not_become_an_approval_request(loop: LoopHarness) -> None:
    # Given a task whose write_file calls wait for a person, and a reply calling it with a huge id
    loop.server.enqueue(_write_call(BAD_IDS["huge"]))
    # When the loop runs
    result = loop.run("Write the file.", allowed=["write_file"], approval_tools=frozenset({"write_file"}))
    # Then it does not wait on a request holding that id: the run ends in error
    assert result.outcome == "error"
    assert result.approval_request is None
    assert not (loop.workdir / "out.txt").exists()


def test_two_calls_with_one_id_end_the_run_before_either_runs(loop: LoopHarness) -> None:
    # Given a reply with two calls under one id (the API refuses repeats when the results come back)
    first, second = _write_call("toolu_same", "a.txt"), _write_call("toolu_same", "b.txt")
    content = first.body["content"] + second.body["content"][1:]
    loop.server.enqueue(Reply(body=message_body(content, stop_reason="tool_use")))
    # When the loop runs / Then neither runs
    result = loop.run("Write both.", allowed=["write_file"])
    assert result.outcome == "error"
    assert result.error is not None
    assert "two of its tool calls have the id 'toolu_same'" in result.error
    assert not (loop.workdir / "a.txt").exists()
    assert not (loop.workdir / "b.txt").exists()


def test_a_real_shaped_id_at_the_bound_runs() -> None:
    # Given ids of the API's shape, up to the bound / Then a held call accepts them; one more is refused
    assert PendingToolCall(tool_use_id="toolu_01A09q90qw90lq917835lq9", tool="bash").tool_use_id
    assert PendingToolCall(tool_use_id="a" * MAX_TOOL_USE_ID_CHARS, tool="bash")
    with pytest.raises(ValidationError):
        PendingToolCall(tool_use_id="a" * (MAX_TOOL_USE_ID_CHARS + 1), tool="bash")
