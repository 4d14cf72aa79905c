"""The loop with the real anthropic client against the local Messages API server."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from agent_tasks.agent.loop import LoopLimits
from agent_tasks.agent.pricing import cost_usd
from agent_tasks.models.sdk_options import McpServer
from agent_tasks.models.transcript import Usage
from tests.support.messages_server import Reply, message_body, usage_figures
from tests.unit.agent.conftest import LoopHarness


def tool_results(message: Any) -> list[dict[str, Any]]:
    return [b for b in message.content if b["type"] == "tool_result"]


def test_multi_turn_tool_run_completes_with_results_fed_back(loop: LoopHarness) -> None:
    # Given a workdir with a file and a model that lists, writes and reads before answering
    (loop.workdir / "in.txt").write_text("hello")
    loop.server.reply_tool_use(("list_files", {"pattern": "*.txt"}), text="Looking.")
    loop.server.reply_tool_use(
        ("write_file", {"path": "out.txt", "content": "hi"}), ("Read", {"path": "in.txt"})
    )
    loop.server.reply_text("All done.")

    # When the loop runs
    result = loop.run(system_prompt="You are careful.")

    # Then it completes with the final text, the file written and every pair intact
    assert result.outcome == "completed"
    assert result.final_text == "All done."
    assert result.provider == "anthropic"
    assert (loop.workdir / "out.txt").read_text() == "hi"
    assert [m.role for m in loop.stored] == ["user", "assistant", "user", "assistant", "user", "assistant"]
    assert [m.seq for m in loop.stored] == [1, 2, 3, 4, 5, 6]
    assert loop.stored[0].content == [{"type": "text", "text": "Summarise the files."}]
    first_results = tool_results(loop.stored[2])
    assert first_results[0]["tool_use_id"] == loop.stored[1].content[1]["id"]
    assert "in.txt" in first_results[0]["content"]
    second_results = tool_results(loop.stored[4])
    assert [r["tool_use_id"] for r in second_results] == [b["id"] for b in loop.stored[3].content]
    assert second_results[1]["content"] == "hello"
    assert result.new_messages == 6
    assert [c.name for c in result.tool_calls] == ["list_files", "write_file", "read_file"]
    # And what the client sent: the system prompt, only the permitted tools, the results
    sent = loop.server.requests
    assert len(sent) == 3
    assert sent[0].body["system"] == "You are careful."
    assert sorted(sent[0].tool_names) == sorted(
        ["read_file", "write_file", "edit_file", "list_files", "grep"]
    )
    assert sent[2].messages[-1]["content"][1]["content"] == "hello"
    # And usage and cost are totalled
    assert result.state.turns == 3
    assert result.state.usage == Usage(input_tokens=30, output_tokens=15)
    assert loop.stored[1].usage == Usage(input_tokens=10, output_tokens=5)
    assert result.state.cost_usd == pytest.approx(cost_usd("claude-sonnet-5-5", result.state.usage))
    assert result.cost_note is None


def test_resume_after_continue_goes_on_where_it_stopped(loop: LoopHarness) -> None:
    # Given a time budget that runs short once the first tool results are stored
    loop.server.reply_tool_use(("write_file", {"path": "a.txt", "content": "1"}))
    loop.server.reply_text("Finished.")

    def short_after_first_turn() -> float:
        return 1000.0 if len(loop.stored) < 3 else 1.0

    # When the loop runs, then runs again with time to spare
    first = loop.run(deadline=short_after_first_turn)
    second = loop.run()

    # Then the first call stops cleanly with `continue` and the second completes
    assert first.outcome == "continue"
    assert [m.role for m in loop.stored[:3]] == ["user", "assistant", "user"]
    assert second.outcome == "completed"
    assert second.final_text == "Finished."
    assert [m.seq for m in loop.stored] == [1, 2, 3, 4]
    assert len(loop.server.requests) == 2
    assert loop.server.requests[1].messages[-1]["content"][0]["type"] == "tool_result"
    assert second.state.invocations == 2
    assert second.state.turns == 2
    assert second.new_messages == 1


def test_resume_runs_tools_whose_results_were_not_stored(loop: LoopHarness) -> None:
    # Given an invocation that ran out of time right after the model asked for a tool
    loop.server.reply_tool_use(("write_file", {"path": "b.txt", "content": "2"}))
    loop.server.reply_text("Done.")
    first = loop.run(deadline=lambda: 1000.0 if len(loop.stored) < 2 else 1.0)
    assert first.outcome == "continue"
    assert loop.stored[-1].role == "assistant"
    assert not (loop.workdir / "b.txt").exists()

    # When it resumes
    second = loop.run()

    # Then the pending tool runs first, and its result goes with the next request
    assert second.outcome == "completed"
    assert (loop.workdir / "b.txt").read_text() == "2"
    assert len(loop.server.requests) == 2
    tool_use_id = loop.stored[1].content[0]["id"]
    assert loop.server.requests[1].messages[-1]["content"][0]["tool_use_id"] == tool_use_id


def test_max_turns_stops_after_running_the_last_turns_tools(loop: LoopHarness) -> None:
    # Given a model that keeps asking for tools
    loop.server.reply_tool_use(("list_files", {}))
    loop.server.reply_tool_use(("list_files", {}))
    loop.server.reply_tool_use(("list_files", {}))

    # When the task allows two turns
    result = loop.run(max_turns=2)

    # Then it stops at two model calls, with the last tool_use answered
    assert result.outcome == "max_turns"
    assert len(loop.server.requests) == 2
    assert result.state.turns == 2
    assert loop.stored[-1].role == "user"
    assert tool_results(loop.stored[-1])


def test_budget_stop_when_max_budget_usd_is_spent(loop: LoopHarness) -> None:
    # Given a first turn costing more than the budget (2000 in + 1000 out on sonnet 5.5 = $0.014)
    usage = usage_figures(input_tokens=2000, output_tokens=1000)
    loop.server.reply_tool_use(("list_files", {}), usage=usage)
    loop.server.reply_text("never sent")

    # When the loop runs with a $0.01 budget
    result = loop.run(max_budget_usd=0.01)

    # Then it stops before the second call
    assert result.outcome == "budget_exceeded"
    assert result.state.cost_usd == pytest.approx(0.014)
    assert len(loop.server.requests) == 1


def test_cancel_is_checked_between_turns(loop: LoopHarness) -> None:
    loop.server.reply_tool_use(("list_files", {}))
    result = loop.run(should_cancel=lambda: len(loop.stored) >= 3)
    assert result.outcome == "cancelled"
    assert len(loop.server.requests) == 1


def test_429_529_500_are_retried_then_succeed(loop: LoopHarness) -> None:
    # Given three retryable failures (retry-after-ms and retry-after headers keep backoff short)
    loop.server.reply_error(429, retry_after_ms=None, retry_after="0.001")
    loop.server.reply_error(529)
    loop.server.reply_error(500)
    loop.server.reply_text("Made it.")

    # When the loop runs with the SDK's retries
    result = loop.run(max_retries=3)

    # Then the fourth attempt answers
    assert result.outcome == "completed"
    assert result.final_text == "Made it."
    assert len(loop.server.requests) == 4
    assert loop.server.requests[3].headers["x-stainless-retry-count"] == "3"


def test_retries_exhausted_is_an_error_outcome_with_a_clear_message(loop: LoopHarness) -> None:
    loop.server.enqueue(*[Reply(**vars(r)) for r in _overloaded(3)])

    result = loop.run(max_retries=2)

    assert result.outcome == "error"
    assert result.error is not None
    assert "529" in result.error
    assert "overloaded_error" in result.error
    assert "Traceback" not in result.error
    assert len(loop.server.requests) == 3
    assert loop.stored[-1].role == "user"


def _overloaded(count: int) -> list[Reply]:
    from tests.support.messages_server import error_reply

    return [error_reply(529) for _ in range(count)]


def test_a_rejected_request_is_not_retried(loop: LoopHarness) -> None:
    loop.server.reply_error(400, message="messages: bad shape")
    result = loop.run(max_retries=3)
    assert result.outcome == "error"
    assert result.error is not None
    assert "400" in result.error
    assert "bad shape" in result.error
    assert len(loop.server.requests) == 1


def test_slow_answer_times_out_into_an_error(loop: LoopHarness) -> None:
    # Given a server slower than the time left
    loop.server.reply_slow(10)
    limits = LoopLimits(safety_margin_seconds=0.2, min_model_call_seconds=0.1, min_tool_seconds=0.1)

    # When the loop calls it with under a second to spare
    result = loop.run(deadline=lambda: 0.7, limits=limits)

    # Then the call times out and the loop reports it
    assert result.outcome == "error"
    assert result.error is not None
    assert "did not answer in time" in result.error


def test_slow_answer_near_the_deadline_is_a_continue(loop: LoopHarness) -> None:
    loop.server.reply_slow(10)
    limits = LoopLimits(safety_margin_seconds=0.2, min_model_call_seconds=0.1, min_tool_seconds=0.1)
    checks = itertools.count()

    result = loop.run(deadline=lambda: 0.7 if next(checks) < 2 else 0.05, limits=limits)

    assert result.outcome == "continue"
    assert [m.role for m in loop.stored] == ["user"]


@pytest.mark.parametrize(
    ("mode", "allowed", "disallowed", "offered", "called", "denied_text"),
    [
        ("default", ["read_file"], [], ["read_file"], "write_file", "not in this task's allowed tools"),
        ("default", ["bash", "read_file"], ["Bash"], ["read_file"], "bash", "disallowed"),
        ("plan", ["read_file", "write_file", "Bash"], [], ["read_file"], "write_file", "plan mode"),
        ("acceptEdits", ["write_file", "edit_file"], [], ["edit_file", "write_file"], "bash", "not in this"),
        (
            "bypassPermissions",
            [],
            ["bash"],
            [
                "edit_file",
                "grep",
                "http_request",
                "list_files",
                "read_file",
                "write_file",
                "web_fetch",
                "web_search",
            ],
            "bash",
            "disallowed",
        ),
    ],
)
def test_permission_modes_offer_only_permitted_tools_and_deny_the_rest(
    loop: LoopHarness,
    mode: str,
    allowed: list[str],
    disallowed: list[str],
    offered: list[str],
    called: str,
    denied_text: str,
) -> None:
    # Given a model that calls a tool the task may not use
    denied_input = {"path": "x.txt", "content": "x"} if called == "write_file" else {"command": "touch x.txt"}
    loop.server.reply_tool_use((called, denied_input))
    loop.server.reply_text("Ok.")

    # When the loop runs in `mode`
    result = loop.run(allowed=allowed, disallowed=disallowed, permission_mode=mode)

    # Then only the permitted tools were offered, the call was denied and counted, and the run went on
    assert loop.server.requests[0].tool_names == offered
    assert result.outcome == "completed"
    answer = tool_results(loop.stored[2])[0]
    assert answer["is_error"] is True
    assert answer["content"].startswith("permission denied:")
    assert denied_text in answer["content"]
    assert [d.name for d in result.state.permission_denials] == [called]
    assert result.state.permission_denials[0].permission_denied
    assert not (loop.workdir / "x.txt").exists()


def test_bypass_permissions_runs_unlisted_tools(loop: LoopHarness) -> None:
    loop.server.reply_tool_use(("write_file", {"path": "y.txt", "content": "y"}))
    loop.server.reply_text("Ok.")
    result = loop.run(allowed=[], permission_mode="bypassPermissions")
    assert result.state.permission_denials == []
    assert (loop.workdir / "y.txt").read_text() == "y"


def test_server_tools_and_mcp_servers_are_passed_to_the_api(loop: LoopHarness) -> None:
    # Given a task with server tools and three MCP servers, two of them allowed
    loop.server.reply_text("Ok.")
    servers = [
        McpServer(name="docs", url="https://docs.example.com/mcp", authorization_token="secret-token"),
        McpServer(name="tracker", url="https://tracker.example.com/mcp"),
        McpServer(name="unused", url="https://unused.example.com/mcp"),
    ]

    # When the loop runs
    loop.run(
        allowed=["web_search", "web_fetch", "read_file", "mcp__docs", "mcp__tracker__create_issue"],
        mcp_servers=servers,
    )

    # Then the request carries the server tool definitions and the MCP connector's configuration
    body = loop.server.requests[0].body
    assert {"type": "web_search_20250305", "name": "web_search", "max_uses": 10} in body["tools"]
    assert {"type": "web_fetch_20250910", "name": "web_fetch", "max_uses": 10} in body["tools"]
    toolsets = [t for t in body["tools"] if t.get("type") == "mcp_toolset"]
    assert toolsets == [
        {"type": "mcp_toolset", "mcp_server_name": "docs", "default_config": {"enabled": True}},
        {
            "type": "mcp_toolset",
            "mcp_server_name": "tracker",
            "default_config": {"enabled": False},
            "configs": {"create_issue": {"enabled": True}},
        },
    ]
    assert body["mcp_servers"] == [
        {
            "type": "url",
            "name": "docs",
            "url": "https://docs.example.com/mcp",
            "authorization_token": "secret-token",
        },
        {"type": "url", "name": "tracker", "url": "https://tracker.example.com/mcp"},
    ]
    assert "mcp-client-2025-11-20" in loop.server.requests[0].headers["anthropic-beta"]


def test_plan_mode_offers_no_mcp_tools(loop: LoopHarness) -> None:
    loop.server.reply_text("Ok.")
    servers = [McpServer(name="docs", url="https://docs.example.com/mcp")]
    loop.run(allowed=["read_file", "mcp__docs"], mcp_servers=servers, permission_mode="plan")
    body = loop.server.requests[0].body
    assert "mcp_servers" not in body
    assert loop.server.requests[0].tool_names == ["read_file"]


def test_malformed_tool_input_and_unknown_tools_become_tool_errors(loop: LoopHarness) -> None:
    # Given a model that sends a bad input, a non-object input and an unknown tool
    loop.server.reply_tool_use(
        ("read_file", {"nope": 1}),
        ("read_file", "not json{"),
        ("teleport", {"to": "mars"}),
    )
    loop.server.reply_text("Sorry.")

    # When the loop runs
    result = loop.run()

    # Then each gets a tool error and the run completes
    assert result.outcome == "completed"
    errors = tool_results(loop.stored[2])
    assert all(e["is_error"] for e in errors)
    assert "invalid input for read_file" in errors[0]["content"]
    assert "path: Field required" in errors[0]["content"]
    assert "nope: Extra inputs are not permitted" in errors[0]["content"]
    assert "expected a JSON object" in errors[1]["content"]
    assert "unknown tool 'teleport'" in errors[2]["content"]
    assert result.state.permission_denials == []


def test_unknown_model_has_no_cost_and_says_so(loop: LoopHarness) -> None:
    loop.server.enqueue(Reply(body=message_body([{"type": "text", "text": "hi"}], model="claude-mystery-9")))
    result = loop.run(model="claude-mystery-9")
    assert result.outcome == "completed"
    assert result.state.cost_usd is None
    assert result.state.model_usage["claude-mystery-9"].cost_usd is None
    assert result.cost_note is not None
    assert "claude-mystery-9" in result.cost_note


def test_a_budget_on_an_unpriced_model_stops_before_the_first_call(loop: LoopHarness) -> None:
    # Given a task with a budget whose model the price table cannot price (the table changed)
    loop.server.reply_text("never sent")

    # When the loop runs
    result = loop.run(model="claude-mystery-9", max_budget_usd=1.0)

    # Then it fails with that reason, and no model was called
    assert result.outcome == "error"
    assert result.error is not None
    assert "claude-mystery-9" in result.error
    assert "no price" in result.error
    assert loop.server.requests == []


def test_cache_tokens_are_recorded_and_priced(loop: LoopHarness) -> None:
    usage = usage_figures(input_tokens=100, output_tokens=50, cache_read=1000, cache_write=200)
    loop.server.reply_text("cached", usage=usage)
    result = loop.run()
    assert result.state.usage == Usage(
        input_tokens=100, output_tokens=50, cache_read_input_tokens=1000, cache_creation_input_tokens=200
    )
    # on sonnet 5.5: 100*2 + 50*10 + 1000*0.20 + 200*2.50 = 1400 per million
    assert result.state.cost_usd == pytest.approx(0.0014)
    # And the newest user block carries a cache breakpoint in the request (not in the stored transcript)
    assert loop.server.requests[0].messages[-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in loop.stored[0].content[-1]


def test_a_completed_transcript_resumes_as_completed_without_a_call(loop: LoopHarness) -> None:
    loop.server.reply_text("Done once.")
    loop.run()
    again = loop.run()
    assert again.outcome == "completed"
    assert again.final_text == "Done once."
    assert len(loop.server.requests) == 1
