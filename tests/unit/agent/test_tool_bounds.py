"""Tools do bounded work and return bounded output, whatever the model asks."""

from __future__ import annotations

from pathlib import Path

from agent_tasks.agent.tools import LOCAL_TOOL_IMPLEMENTATIONS, ToolContext, ToolOutput, run_local_tool
from agent_tasks.agent.tools.base import MAX_TOOL_RESULT_BYTES
from agent_tasks.agent.tools.files import MAX_GREP_LINE_CHARS

NOTE_BYTES = 100  # room for the "[output truncated ...]" note


def run(name: str, workdir: Path, seconds_left: float = 3600.0, **tool_input: object) -> ToolOutput:
    context = ToolContext(workdir=workdir, deadline=lambda: seconds_left)
    return run_local_tool(LOCAL_TOOL_IMPLEMENTATIONS[name], tool_input, context)


def test_grep_with_a_catastrophic_pattern_stops_at_its_time_limit(workdir: Path) -> None:
    # Given one line on which (a|aa)+$ backtracks for seconds with Python's re
    (workdir / "a.txt").write_text("a" * 36 + "!\n")

    # When grep runs it with half a second left before the invocation's margin
    result = run("grep", workdir, seconds_left=5.5, pattern="(a|aa)+$")

    # Then it stops and says why, instead of running on
    assert "the pattern took too long on a.txt:1" in result.text


def test_grep_searches_only_the_start_of_a_very_long_line(workdir: Path) -> None:
    (workdir / "long.txt").write_text("x" * (MAX_GREP_LINE_CHARS + 10) + "needle\nneedle here\n")
    assert run("grep", workdir, pattern="needle").text.splitlines() == ["long.txt:2: needle here"]


def test_list_files_output_is_capped_in_bytes(workdir: Path) -> None:
    # Given 1,000 files with long names (about 200 KB of names)
    for index in range(1000):
        (workdir / f"{index:04d}-{'n' * 190}.txt").write_text("")

    # When they are listed
    result = run("list_files", workdir, pattern="*.txt")

    # Then the answer is capped in bytes and says so
    assert len(result.text.encode()) <= 30_000 + NOTE_BYTES
    assert "[output truncated" in result.text


def test_every_tool_result_is_capped_in_bytes_before_the_transcript(workdir: Path) -> None:
    # Given a file of 30,000 four-byte characters (read_file caps characters: 120 KB)
    (workdir / "wide.txt").write_text("\N{GRINNING FACE}" * 30_000)

    # When it is read
    result = run("read_file", workdir, path="wide.txt")

    # Then what would enter the transcript is capped in bytes, never cut inside a character
    assert len(result.text.encode()) <= MAX_TOOL_RESULT_BYTES + NOTE_BYTES
    assert result.text.startswith("\N{GRINNING FACE}" * 100)
    assert "[output truncated" in result.text
