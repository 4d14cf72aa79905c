"""No process a tool starts outlives its call, and one invocation never sees another's files."""

from __future__ import annotations

import contextvars
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_tasks.agent import isolation
from agent_tasks.agent.tools import (
    LOCAL_TOOL_IMPLEMENTATIONS,
    ToolContext,
    ToolOutput,
    processes,
    run_local_tool,
)
from agent_tasks.settings import get_settings

WAIT_FOR_PID = "while [ ! -s d.pid ]; do sleep 0.01; done"


def bash(workdir: Path, command: str) -> ToolOutput:
    return run_local_tool(
        LOCAL_TOOL_IMPLEMENTATIONS["bash"], {"command": command}, ToolContext(workdir=workdir)
    )


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def another_invocation() -> None:
    with isolation.invocation_scope():
        pass


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "scratch"
    root.mkdir()
    monkeypatch.setenv("EXECUTOR_SCRATCH_ROOT", str(root))
    get_settings.cache_clear()
    yield root
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(
            "setsid nohup bash -c 'echo $$ > d.pid; while sleep 1; do ls /tmp; done' >/dev/null 2>&1 &",
            id="setsid-daemon",
        ),
        pytest.param("( ( sh -c 'echo $$ > d.pid; exec sleep 1000' ) & )", id="double-fork"),
        pytest.param("sleep 1000 & echo $! > d.pid; disown", id="disown"),
        pytest.param(
            "bash -c 'trap \"\" TERM HUP INT; echo $$ > d.pid; while :; do sleep 1; done' </dev/null "
            ">/dev/null 2>&1 & disown",
            id="ignores-sigterm",
        ),
    ],
)
def test_no_process_outlives_the_bash_call(workdir: Path, command: str) -> None:
    # Given a command that leaves a process behind, detached as it likes
    result = bash(workdir, f"{command}\n{WAIT_FOR_PID}; echo started")

    # When the call has returned
    assert not result.is_error, result.text
    assert "started" in result.text

    # Then the process it left is gone
    pid = int((workdir / "d.pid").read_text())
    assert not alive(pid)


def test_a_second_invocation_sees_nothing_of_the_first(scratch: Path) -> None:
    # Given a first invocation that leaves a file beside its own directory
    with isolation.invocation_scope() as first:
        workdir = first / "work"
        workdir.mkdir()
        assert not bash(workdir, f"echo secret > {scratch}/leak.txt; echo mine > own.txt").is_error
        assert (scratch / "leak.txt").exists()
    # and a process of an earlier run that died without cleaning up (a tag no run holds any more)
    leftover = subprocess.Popen(
        ["/bin/sleep", "1000"], env=processes.tool_environment(processes.new_tag()), start_new_session=True
    )

    # When a second invocation starts
    with isolation.invocation_scope() as second:
        workdir = second / "work"
        workdir.mkdir()
        listing = bash(workdir, f"ls -A {scratch}")

        # Then it sees only its own directory, and the leftover process is gone
        assert listing.text.split() == [second.name]
        assert not first.exists()
        assert leftover.wait(timeout=5) is not None
        assert not alive(leftover.pid)


def test_a_running_invocation_keeps_its_processes_and_files_while_another_starts(scratch: Path) -> None:
    # Given an invocation with a background process of its own (the local cloud runs several at once)
    with isolation.invocation_scope() as first:
        (first / "mine.txt").write_text("mine")
        process = subprocess.Popen(
            ["/bin/sleep", "1000"], env=processes.tool_environment(processes.current_tag.get() or "")
        )
        try:
            # When another invocation starts and ends in between (a fresh context, as another thread)
            contextvars.Context().run(another_invocation)
            # Then the first keeps both
            assert alive(process.pid)
            assert (first / "mine.txt").exists()
        finally:
            process.kill()
            process.wait()


def test_scope_descendants_also_kills_a_process_that_cleared_its_environment(tmp_path: Path) -> None:
    # Given the AWS setting, in a process of its own (it kills every descendant of that process)
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from agent_tasks.agent.tools import LOCAL_TOOL_IMPLEMENTATIONS, ToolContext, run_local_tool
        work = Path({str(tmp_path)!r})
        # When a command leaves an orphan with an empty environment (no tag)
        out = run_local_tool(LOCAL_TOOL_IMPLEMENTATIONS["bash"],
            {{"command": "( env -i setsid /bin/sleep 1000 & echo $! > d.pid ) ; sleep 0.1"}},
            ToolContext(workdir=work))
        pid = int((work / "d.pid").read_text())
        stat = Path(f"/proc/{{pid}}/stat")
        print("alive" if stat.exists() and stat.read_text().split(") ")[1][0] != "Z" else "gone")
        """
    )
    env = {**os.environ, "TOOL_PROCESS_SCOPE": "descendants"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    # Then it is gone too
    assert done.stdout.strip() == "gone", done.stderr
