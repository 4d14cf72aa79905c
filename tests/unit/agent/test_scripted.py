"""The scripted provider: offline, deterministic, and only ever uses the tools it is offered."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_tasks.agent.loop import run_agent
from agent_tasks.agent.providers import AnthropicProvider, BedrockProvider, ScriptedProvider, select_provider
from agent_tasks.agent.scripted import NOTES_FILE
from agent_tasks.models.sdk_options import SdkOptions
from agent_tasks.models.transcript import AgentResult, AgentRunState, TranscriptMessage
from agent_tasks.settings import Settings


def scripted_run(
    workdir: Path, allowed: list[str], mode: str = "default"
) -> tuple[AgentResult, list[TranscriptMessage]]:
    stored: list[TranscriptMessage] = []
    result = run_agent(
        prompt="Write release notes for version 2.",
        options=SdkOptions(permission_mode=mode),  # type: ignore[arg-type]
        allowed_tools=allowed,
        disallowed_tools=[],
        transcript=[],
        state=AgentRunState(),
        workdir=workdir,
        on_message=stored.append,
        deadline=lambda: 1000.0,
        provider=ScriptedProvider(),
        settings=Settings(),
    )
    return result, stored


def make_workdir(root: Path, name: str) -> Path:
    workdir = root / name
    workdir.mkdir()
    (workdir / "CHANGELOG.md").write_text("- fixed things\n")
    return workdir


def test_scripted_run_lists_writes_reads_and_summarises(tmp_path: Path) -> None:
    result, stored = scripted_run(
        make_workdir(tmp_path, "a"), ["list_files", "write_file", "read_file", "bash"]
    )

    assert result.outcome == "completed"
    assert result.provider == "scripted"
    assert [c.name for c in result.tool_calls] == ["list_files", "write_file", "read_file"]
    assert not any(c.is_error for c in result.tool_calls)
    notes = (tmp_path / "a" / NOTES_FILE).read_text()
    assert "Write release notes for version 2." in notes
    assert result.final_text is not None
    assert "no model was called" in result.final_text
    assert "Write release notes for version 2." in result.final_text
    assert result.state.cost_usd == 0.0
    assert result.cost_note is not None
    assert "no model was called" in result.cost_note
    assert all(m.model == "scripted" for m in stored if m.role == "assistant")


def test_scripted_runs_are_deterministic(tmp_path: Path) -> None:
    first, first_messages = scripted_run(
        make_workdir(tmp_path, "one"), ["list_files", "write_file", "read_file"]
    )
    second, second_messages = scripted_run(
        make_workdir(tmp_path, "two"), ["list_files", "write_file", "read_file"]
    )

    assert [m.content for m in first_messages] == [m.content for m in second_messages]
    assert first.state.usage == second.state.usage
    assert first.state.usage.input_tokens > 0
    assert first.final_text == second.final_text


@pytest.mark.parametrize(
    ("allowed", "mode", "expected_calls"),
    [
        (["list_files"], "default", ["list_files"]),
        ([], "default", []),
        (["list_files", "read_file", "write_file"], "plan", ["list_files", "read_file"]),
    ],
)
def test_scripted_touches_only_permitted_tools(
    tmp_path: Path, allowed: list[str], mode: str, expected_calls: list[str]
) -> None:
    workdir = make_workdir(tmp_path, "w")
    result, _ = scripted_run(workdir, allowed, mode)
    assert [c.name for c in result.tool_calls] == expected_calls
    assert result.state.permission_denials == []
    assert not (workdir / NOTES_FILE).exists()
    assert result.outcome == "completed"


def test_select_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY_PARAMETER", "MODEL_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(select_provider(Settings()), ScriptedProvider)
    assert isinstance(select_provider(Settings(ANTHROPIC_API_KEY="sk-ant-x")), AnthropicProvider)  # type: ignore[call-arg]
    assert isinstance(
        select_provider(Settings(ANTHROPIC_API_KEY_PARAMETER="/agent-tasks/anthropic-key")),  # type: ignore[call-arg]
        AnthropicProvider,
    )
    assert isinstance(select_provider(Settings(MODEL_PROVIDER="bedrock")), BedrockProvider)  # type: ignore[call-arg]
    assert isinstance(
        select_provider(Settings(MODEL_PROVIDER="scripted", ANTHROPIC_API_KEY="sk")),  # type: ignore[call-arg]
        ScriptedProvider,
    )


def test_anthropic_providers_share_one_client_per_process() -> None:
    # Given two providers made for two RunAgent invocations with the same key and endpoint
    from agent_tasks.agent.providers import AnthropicProvider

    first = AnthropicProvider(api_key="k", base_url="http://127.0.0.1:9")
    second = AnthropicProvider(api_key="k", base_url="http://127.0.0.1:9")
    # Then they use one SDK client (one connection pool), not one each
    assert first._client() is second._client()
