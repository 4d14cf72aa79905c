"""The agent loop's own overhead per turn, against the local Messages API server.

Run: .venv/bin/python -m tests.bench.bench_agent_loop

A run of `turns` model calls (all but the last ask for one no-op tool) with instant answers.
Time inside the provider call (the anthropic SDK building the request, the HTTP round trip on
loopback, the local server, parsing the answer) and inside the tool's run function is
measured separately and subtracted; what is left is the loop's own work per turn: building
the request from the transcript, permission checks, tool input validation, usage and cost
bookkeeping, and creating the transcript messages.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from agent_tasks.agent.loop import run_agent
from agent_tasks.agent.model_api import ModelRequest, ModelResponse
from agent_tasks.agent.model_catalog import snapshot
from agent_tasks.agent.providers import AnthropicProvider
from agent_tasks.agent.tools import LOCAL_TOOL_IMPLEMENTATIONS, LocalTool, ToolContext
from agent_tasks.agent.tools.files import ListFilesInput
from agent_tasks.models.sdk_options import SdkOptions
from agent_tasks.models.transcript import AgentRunState, ProviderName, TranscriptMessage
from agent_tasks.observability import logger
from agent_tasks.settings import Settings
from tests.support.messages_server import MessagesServer, RecordedRequest, Reply, text_reply, tool_use_reply


class _TimedProvider:
    def __init__(self, inner: AnthropicProvider) -> None:
        self.inner = inner
        self.seconds = 0.0

    @property
    def name(self) -> ProviderName:
        return self.inner.name

    def create_message(self, request: ModelRequest) -> ModelResponse:
        started = time.perf_counter()
        try:
            return self.inner.create_message(request)
        finally:
            self.seconds += time.perf_counter() - started


def _one_run(server: MessagesServer, provider: _TimedProvider, turns: int, workdir: Path) -> dict[str, float]:
    tool_seconds = 0.0

    def noop(_args: ListFilesInput, _ctx: ToolContext) -> str:
        nonlocal tool_seconds
        started = time.perf_counter()
        result = "a.txt"
        tool_seconds += time.perf_counter() - started
        return result

    registry = {
        **LOCAL_TOOL_IMPLEMENTATIONS,
        "list_files": LocalTool("list_files", "No-op.", ListFilesInput, noop),
    }
    calls = 0

    def responder(_request: RecordedRequest) -> Reply:
        nonlocal calls
        calls += 1
        return text_reply("done") if calls >= turns else tool_use_reply(("list_files", {"pattern": "*"}))

    server.responder = responder
    provider.seconds = 0.0
    stored: list[TranscriptMessage] = []
    started = time.perf_counter()
    result = run_agent(
        prompt="benchmark",
        options=SdkOptions(max_turns=turns),
        allowed_tools=["list_files", "read_file"],
        disallowed_tools=[],
        transcript=[],
        state=AgentRunState(),
        workdir=workdir,
        on_message=stored.append,
        deadline=lambda: 3600.0,
        provider=provider,
        tool_registry=registry,
        settings=Settings(),
        catalogue=snapshot(),  # no table here: the shipped catalogue
    )
    total = time.perf_counter() - started
    assert result.outcome == "completed", result
    assert result.state.turns == turns
    return {"total": total, "model": provider.seconds, "tools": tool_seconds}


def measure_loop_overhead(turns: int = 20, repeats: int = 5) -> dict[str, Any]:
    """Median over `repeats` runs of `turns` turns; milliseconds per turn."""
    with MessagesServer() as server, tempfile.TemporaryDirectory() as tmp:
        provider = _TimedProvider(
            AnthropicProvider(api_key="sk-ant-bench", base_url=server.url, max_retries=0)
        )
        _one_run(server, provider, 2, Path(tmp))  # warm-up: imports, connection, first-call costs
        runs = [_one_run(server, provider, turns, Path(tmp)) for _ in range(repeats)]
    per_turn = {key: statistics.median(run[key] for run in runs) * 1000 / turns for key in runs[0]}
    return {
        "turns": turns,
        "repeats": repeats,
        "loop_overhead_ms_per_turn": round(per_turn["total"] - per_turn["model"] - per_turn["tools"], 3),
        "model_call_ms_per_turn": round(per_turn["model"], 3),
        "tool_ms_per_turn": round(per_turn["tools"], 4),
        "total_ms_per_turn": round(per_turn["total"], 3),
        "model_call_includes": "anthropic SDK request build and parse, HTTP on loopback, local server",
    }


if __name__ == "__main__":
    logger.setLevel("WARNING")  # one INFO line per run would clutter the figures
    print(json.dumps(measure_loop_overhead(), indent=2))
