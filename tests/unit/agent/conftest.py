from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent_tasks.agent.loop import LoopLimits, run_agent
from agent_tasks.agent.model_catalog import ModelCatalogue, snapshot
from agent_tasks.agent.providers import AnthropicProvider
from agent_tasks.models.sdk_options import SdkOptions
from agent_tasks.models.transcript import AgentResult, AgentRunState, TranscriptMessage
from agent_tasks.settings import Settings
from tests.support.messages_server import MessagesServer, messages_server  # noqa: F401 - fixture

FILE_TOOLS = ["read_file", "write_file", "edit_file", "list_files", "grep"]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@dataclass
class LoopHarness:
    """Runs the real loop with the real anthropic client against the local Messages server."""

    server: MessagesServer
    workdir: Path
    stored: list[TranscriptMessage] = field(default_factory=list)
    state: AgentRunState = field(default_factory=AgentRunState)

    def run(
        self,
        prompt: str = "Summarise the files.",
        *,
        allowed: list[str] | None = None,
        disallowed: list[str] | None = None,
        deadline: Callable[[], float] = lambda: 1000.0,
        max_retries: int = 0,
        limits: LoopLimits | None = None,
        should_cancel: Callable[[], bool] = lambda: False,
        output_schema: dict[str, Any] | None = None,
        catalogue: ModelCatalogue | None = None,
        approval_tools: frozenset[str] = frozenset(),
        **options: Any,
    ) -> AgentResult:
        provider = AnthropicProvider(api_key="sk-ant-test", base_url=self.server.url, max_retries=max_retries)
        result = run_agent(
            prompt=prompt,
            options=SdkOptions(**options),
            allowed_tools=FILE_TOOLS if allowed is None else allowed,
            disallowed_tools=disallowed or [],
            transcript=list(self.stored),
            state=self.state,
            workdir=self.workdir,
            on_message=self.stored.append,
            deadline=deadline,
            should_cancel=should_cancel,
            provider=provider,
            settings=Settings(),
            limits=limits,
            output_schema=output_schema,
            catalogue=catalogue or snapshot(),
            approval_tools=approval_tools,
        )
        self.state = result.state
        return result


@pytest.fixture
def loop(
    messages_server: MessagesServer,  # noqa: F811 - the fixture imported above
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> LoopHarness:
    monkeypatch.delenv("ALLOW_PRIVATE_NETWORK", raising=False)
    return LoopHarness(server=messages_server, workdir=workdir)
